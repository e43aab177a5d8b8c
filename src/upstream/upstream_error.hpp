#pragma once
// Why an upstream call failed, and what the client is told: refused/reset/garbled → 502,
// timed out → 504, each with a short text body naming the upstream and the cause.

#include <string>
#include <string_view>

namespace levee::upstream {

enum class UpstreamErrorKind {
  connect_refused,
  connect_failed,
  connect_timeout,
  reset,
  timeout,
  invalid_response,
  response_too_large,
};

struct UpstreamError {
  UpstreamErrorKind kind;
  std::string detail;  // the system or parser message, for logs and the body

  [[nodiscard]] int status() const noexcept;
  // e.g. "upstream \"legacy\" timed out after 5s"
  [[nodiscard]] std::string describe(std::string_view upstream_name) const;
};

[[nodiscard]] std::string_view to_string(UpstreamErrorKind kind) noexcept;

}  // namespace levee::upstream
