#pragma once
// How a request becomes an HTTP/2 header list and how an HTTP/2 answer becomes a
// core::Response: the mapping of the h2 upstream path, apart from nghttp2 and sockets so that
// it is tested alone. Pure functions and a value type; no I/O.
//
// Request (RFC 9113 8.3.1): :method, :scheme, :authority (the request's Host, else the
// upstream's address), :path (the target), then the fields lower-cased, less the hop-by-hop
// and connection-specific ones (RFC 9113 8.2.2) but with `te: trailers` kept when the client
// sent it (gRPC servers require it), plus X-Forwarded-For, X-Forwarded-Proto and Via as the
// http1 path adds them, and a content-length for a whole body (for a streamed one only if the
// client declared it).
// Response: :status, the fields without pseudo-headers or hop-by-hop ones, the body whole
// (bounded), and the trailer section into core::Response::trailers.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/headers.hpp"
#include "core/request.hpp"
#include "core/response.hpp"

namespace levee::upstream {

// Rewrites request.headers (hop-by-hop removed, forwarding fields added) and returns the
// HTTP/2 header list, pseudo-headers first.
[[nodiscard]] std::vector<core::Header> h2_request_fields(core::Request& request,
                                                          std::string_view scheme,
                                                          std::string_view default_authority);

// Collects one stream's answer from nghttp2's callbacks: header blocks (interim 1xx answers
// are dropped, the block after the final answer is its trailer section), then data.
class H2ResponseAssembler {
 public:
  explicit H2ResponseAssembler(std::uint64_t max_body_bytes) : max_body_bytes_(max_body_bytes) {}

  // A header block begins (HEADERS frame).
  void begin_block();
  // One field of the current block; false when the answer is invalid (bad :status, a
  // pseudo-header in trailers).
  [[nodiscard]] bool field(std::string_view name, std::string_view value);
  // The current block ended; false when it had no valid :status and was no trailer section.
  [[nodiscard]] bool end_block();
  // Body bytes; false once the body is over max_body_bytes.
  [[nodiscard]] bool data(std::string_view bytes);

  [[nodiscard]] bool has_final_head() const noexcept { return final_; }
  [[nodiscard]] int status() const noexcept { return status_; }
  // The answer; call once, after the stream closed cleanly. A HEAD request's answer keeps the
  // upstream's content-length, as on the http1 path.
  [[nodiscard]] core::Response take(bool head_request);
  // An answer still arriving is taken in parts: its head (without body or trailers) once the
  // final head has ended; the body bytes that came with it; the trailers after the stream's
  // end. `declared` gets the content-length the upstream gave, if a valid one.
  [[nodiscard]] core::Response take_head(bool head_request, std::optional<std::uint64_t>& declared);
  [[nodiscard]] std::string take_body() { return std::move(body_); }
  [[nodiscard]] core::Headers take_trailers() { return std::move(trailers_); }

 private:
  std::uint64_t max_body_bytes_;
  bool final_ = false;        // the final (non-1xx) head has ended
  bool in_trailers_ = false;  // the current block is the trailer section
  int status_ = 0;            // of the current head block
  core::Headers headers_;
  core::Headers trailers_;
  std::string body_;
};

}  // namespace levee::upstream
