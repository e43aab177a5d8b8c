#pragma once
// gRPC over HTTP/2 as a proxy sees it (grpc/doc/PROTOCOL-HTTP2.md, statuscodes.md,
// http-grpc-status-mapping.md): which requests are gRPC, the grpc-timeout header, and the
// trailers-only answers with which levee reports its own refusals. A gRPC client reads the
// outcome from grpc-status, never from the HTTP status, so a bare 503 is "UNKNOWN" to it.
// Pure functions, any thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/request.hpp"
#include "core/response.hpp"

namespace levee::layers::grpc {

// The codes levee gives (statuscodes.md).
enum class StatusCode : std::uint8_t {
  ok = 0,
  cancelled = 1,
  unknown = 2,
  deadline_exceeded = 4,
  permission_denied = 7,
  resource_exhausted = 8,
  unimplemented = 12,
  internal = 13,
  unavailable = 14,
  unauthenticated = 16,
};

// content-type application/grpc, alone or with a "+format" or ";parameters" suffix.
[[nodiscard]] bool is_grpc_request(const core::Request& request) noexcept;

// grpc-timeout: 1 to 8 digits and a unit (H, M, S, m, u, n). nullopt when absent or malformed.
[[nodiscard]] std::optional<std::chrono::nanoseconds> parse_grpc_timeout(
    std::string_view value) noexcept;

// grpc-message is percent-encoded: every byte outside printable ASCII, and '%', as %XX.
[[nodiscard]] std::string percent_encode_message(std::string_view message);

// A trailers-only answer (HTTP 200, content-type application/grpc, grpc-status and
// grpc-message in the one header block, no body). `pushback`: grpc-retry-pushback-ms, telling
// a retrying client when to come back.
[[nodiscard]] core::Response trailers_only(StatusCode code, std::string_view message,
                                           std::optional<std::chrono::milliseconds> pushback = {});

// True when the answer already speaks gRPC: grpc-status in its headers or its trailers.
[[nodiscard]] bool has_grpc_status(const core::Response& response) noexcept;
// What a gRPC client can read as it is: an answer with grpc-status, or a 200 (whose trailers
// the upstream owes; a missing grpc-status is the client's to report). Anything else is mapped.
[[nodiscard]] bool needs_no_mapping(const core::Response& response) noexcept;

// What a gRPC client must see for an answer without grpc-status: levee's own refusals (shed:
// RESOURCE_EXHAUSTED with pushback; an open breaker: UNAVAILABLE with pushback; the upstream
// timed out: DEADLINE_EXCEEDED; unreachable: UNAVAILABLE), then the HTTP-to-gRPC mapping for
// any other status. An answer with grpc-status, or a 200 without it, is returned as it is.
[[nodiscard]] core::Response to_grpc_answer(core::Response response);

}  // namespace levee::layers::grpc
