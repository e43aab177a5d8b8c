#pragma once
// Turns the scenario's request template into the bytes of request number `seq` and into what
// its answer must echo back (the Expectation the Verifier checks). Templates are split into
// literal and placeholder pieces once, so building a request is appends only.
// Single-threaded.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/scenario.hpp"

namespace levee::bench {

// What the target must give back for one request.
struct Expectation {
  std::string path;
  std::string query;
  std::optional<std::string> authorization;
  std::string id;  // the item id a POST carried ({seq})
};

struct PreparedRequest {
  std::string wire;  // the complete HTTP/1.1 request
  Expectation expect;
};

class RequestBuilder {
 public:
  // `host` is the Host header value (the target's authority).
  RequestBuilder(const RequestTemplate& request, std::string host);

  void build(std::uint64_t seq, std::uint64_t key, PreparedRequest& out) const;

 private:
  // A template as pieces: literal text, or one of the placeholders.
  struct Piece {
    enum class Kind { text, key, seq, user };
    Kind kind;
    std::string text;
  };
  using Template = std::vector<Piece>;
  struct Values {
    std::uint64_t seq;
    std::uint64_t key;
    std::uint64_t user;
  };

  static Template parse(std::string_view text);
  static void expand(const Template& pieces, const Values& values, std::string& out);

  std::string method_;
  std::string host_;
  Template path_;
  Template query_;
  Template body_;
  bool has_body_;
  std::uint64_t users_;
  Template authorization_;
  std::vector<std::pair<std::string, Template>> headers_;
};

// Placeholder names a template may use; anything else in braces is an error for the loader.
[[nodiscard]] std::optional<std::string> unknown_placeholder(std::string_view text);

}  // namespace levee::bench
