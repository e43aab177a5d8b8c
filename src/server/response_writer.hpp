#pragma once
// Frames a core::Response for the client: status line, the response's own headers, and the
// framing headers the server owns (Content-Length, Transfer-Encoding, Connection). A complete
// body is written from the shared buffer as is, never copied into the head. A streamed body
// keeps its declared length; without one it goes chunked to HTTP/1.1 and close-delimited to
// HTTP/1.0 (body_framing below).

#include <string>

#include "core/response.hpp"

namespace levee::server {

enum class BodyFraming { length, chunked, close };

// How a response's body is delimited on the wire for a client speaking `version`.
[[nodiscard]] BodyFraming body_framing(const core::Response& response, unsigned version) noexcept;

struct ResponseFraming {
  bool head_request = false;  // HEAD: headers only, Content-Length from the response
  bool keep_alive = true;
  unsigned version = 11;  // the request's HTTP version
};

[[nodiscard]] std::string serialize_response_head(const core::Response& response,
                                                  const ResponseFraming& framing);

// 1xx, 204 and 304 never carry a body (RFC 9112 6.3).
[[nodiscard]] bool status_has_body(int status) noexcept;

}  // namespace levee::server
