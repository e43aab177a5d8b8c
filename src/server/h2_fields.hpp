#pragma once
// The field mapping between levee's messages and HTTP/2 header blocks (RFC 9113 8.2, 8.3).
// nghttp2 already refuses what the RFC calls malformed on the way in (upper-case names,
// connection-specific fields, a missing or repeated pseudo-header, a content-length that the
// DATA frames contradict), so the request side only gathers and bounds; the response side
// drops what must never appear in HTTP/2 and lower-cases names.

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/headers.hpp"
#include "core/request.hpp"
#include "core/response.hpp"

namespace levee::server {

// Gathers one request's header block (and its trailer block, if any) into a core::Request.
class H2RequestFields {
 public:
  explicit H2RequestFields(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // One field of the request's header block. Past max_bytes (counted as HPACK does, name
  // and value plus 32) the rest is dropped and over_limit() is true: the answer is 431.
  void add(std::string_view name, std::string_view value);
  // One field of the trailer block that may follow the body.
  void add_trailer(std::string_view name, std::string_view value);
  [[nodiscard]] bool over_limit() const noexcept { return over_limit_; }
  // The trailer block of a body that was still arriving at finish() (H2RequestBody).
  [[nodiscard]] core::Headers take_trailers() { return std::move(trailers_); }

  // Moves what was gathered into `request`: method, target, Host from :authority when the
  // block had no host field, and version 1.1 (what the upstream is spoken to in).
  void finish(core::Request& request);

 private:
  bool count(std::string_view name, std::string_view value);

  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  bool over_limit_ = false;
  std::string method_;
  std::string path_;
  std::string authority_;
  core::Headers headers_;
  core::Headers trailers_;
};

// A header (or trailer) block for nghttp2_submit_*: owns the lower-cased names and the values
// the nghttp2_nv entries point into, so it must outlive the submit call (nghttp2 copies them).
class H2FieldBlock {
 public:
  // The response's head: :status, then its fields without the connection-specific ones
  // (Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, TE). With a
  // `body_length`, content-length is that length (none when 0); without one, the response's
  // own content-length stays (a HEAD answer's) or there is none (a stream of unknown length).
  static H2FieldBlock response(const core::Response& response, const std::size_t* body_length);
  // A trailer section, without the fields no trailer may carry.
  static H2FieldBlock trailers(const core::Headers& trailers);

  [[nodiscard]] const nghttp2_nv* data() const noexcept { return nv_.data(); }
  [[nodiscard]] std::size_t size() const noexcept { return nv_.size(); }
  [[nodiscard]] std::string_view name(std::size_t i) const noexcept;
  [[nodiscard]] std::string_view value(std::size_t i) const noexcept;

 private:
  void add(std::string_view name, std::string_view value);
  void seal();

  std::vector<std::string> names_;
  std::vector<std::string> values_;
  std::vector<nghttp2_nv> nv_;
};

// True for the fields HTTP/2 forbids (RFC 9113 8.2.2).
[[nodiscard]] bool is_connection_specific(std::string_view name) noexcept;

}  // namespace levee::server
