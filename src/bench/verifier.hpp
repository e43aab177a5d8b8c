#pragma once
// Checks each answer against the request it belongs to, so that a response shared across
// users or a batch item delivered to the wrong caller cannot go unnoticed:
// - echo: levee-upstream's /api echo must name the request's own path, query and
//   Authorization (null when none was sent);
// - id:   the answered item's "id" must be the one the request carried;
// - status: any 2xx; none: anything.
// A non-2xx status is an error of its own (not a mismatch) in every mode but none.
// One verifier per thread (it owns a simdjson parser).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "bench/request_builder.hpp"
#include "bench/scenario.hpp"

namespace levee::bench {

enum class Verdict { ok, bad_status, mismatch };

struct VerifyResult {
  Verdict verdict = Verdict::ok;
  std::string detail;  // for a mismatch: what differed, expected vs received
};

class Verifier {
 public:
  explicit Verifier(Verification mode);
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  [[nodiscard]] VerifyResult check(const Expectation& expect, int status, std::string_view body);

 private:
  struct Parser;
  Verification mode_;
  std::unique_ptr<Parser> parser_;
};

}  // namespace levee::bench
