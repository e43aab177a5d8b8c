#pragma once
// Why an upstream call failed, and what the client is told: refused/reset/garbled → 502,
// timed out → 504, each with a short text body naming the upstream and the cause.

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/body_stream.hpp"

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
  UpstreamError(UpstreamErrorKind error_kind, std::string error_detail = {},
                std::optional<core::BodyError> client_body_error = std::nullopt)
      : kind(error_kind), detail(std::move(error_detail)), client_body(client_body_error) {}

  UpstreamErrorKind kind;
  std::string detail;  // the system or parser message, for logs and the body
  // Set when the call failed because the client's streamed body did (cut short, too slow,
  // too large): the client's fault, answered 400/408/413, never counted against the upstream.
  std::optional<core::BodyError> client_body;

  [[nodiscard]] int status() const noexcept;
  // e.g. "upstream \"legacy\" timed out after 5s"
  [[nodiscard]] std::string describe(std::string_view upstream_name) const;
};

[[nodiscard]] std::string_view to_string(UpstreamErrorKind kind) noexcept;

}  // namespace levee::upstream
