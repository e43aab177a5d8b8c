#pragma once
// The checks a parsed request head must pass before levee forwards it, beyond what Beast's
// parser enforces: HTTP version, Host, framing that could smuggle a second request, transfer
// codings, target form. Pure functions; no I/O. Shared by the session and the fuzzer.

#include <string_view>

#include "server/request_parser.hpp"
#include "server/server_metrics.hpp"

namespace levee::server {

// What is wrong with a parsed header block; status 0 when nothing is.
struct HeaderProblem {
  RejectReason reason = RejectReason::bad_request;
  int status = 0;
  std::string_view message;
};

[[nodiscard]] HeaderProblem check_header(const RequestParser& parser);

// Beast reports both "HTTP/2.0" and garbage as bad_version; only the first deserves 505.
// `received` is the raw bytes of the request head as read so far.
[[nodiscard]] bool names_other_http_version(std::string_view received) noexcept;

// "100-continue", case-insensitively, with optional whitespace.
[[nodiscard]] bool is_continue_expectation(std::string_view value) noexcept;

}  // namespace levee::server
