#include "server/h2_fields.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "core/headers.hpp"

namespace levee::server {

namespace {

// RFC 7541 4.1: an entry's size is its name and value plus 32 octets.
constexpr std::size_t k_field_overhead = 32;

// RFC 9110 6.5.1: what a trailer section must not carry (framing, routing, control).
constexpr std::array<std::string_view, 10> k_not_in_trailers = {
    "content-length", "content-type",  "content-encoding", "host",          "cache-control",
    "expect",         "authorization", "set-cookie",       "content-range", "trailer"};

}  // namespace

bool is_connection_specific(std::string_view name) noexcept {
  static constexpr std::array<std::string_view, 6> k_fields = {
      "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"};
  return std::ranges::any_of(k_fields, [&](std::string_view f) { return core::iequals(f, name); });
}

bool H2RequestFields::count(std::string_view name, std::string_view value) {
  if (over_limit_) return false;
  bytes_ += name.size() + value.size() + k_field_overhead;
  if (bytes_ > max_bytes_) {
    over_limit_ = true;
    return false;
  }
  return true;
}

void H2RequestFields::add(std::string_view name, std::string_view value) {
  if (!count(name, value)) return;
  if (name == ":method") {
    method_ = value;
  } else if (name == ":path") {
    path_ = value;
  } else if (name == ":authority") {
    authority_ = value;
  } else if (!name.starts_with(':')) {
    headers_.add(name, value);
  }
  // :scheme and :protocol say nothing the upstream request needs.
}

void H2RequestFields::add_trailer(std::string_view name, std::string_view value) {
  if (!count(name, value)) return;
  trailers_.add(name, value);
}

void H2RequestFields::finish(core::Request& request) {
  request.method = std::move(method_);
  request.target = std::move(path_);
  request.version = 11;
  // RFC 9113 8.3.1: a proxy converting to HTTP/1.1 makes a Host field from :authority.
  if (!authority_.empty() && !headers_.contains("host")) headers_.add("host", authority_);
  request.headers = std::move(headers_);
  request.trailers = std::move(trailers_);
}

void H2FieldBlock::add(std::string_view name, std::string_view value) {
  names_.push_back(core::to_lower(name));
  values_.emplace_back(value);
}

void H2FieldBlock::seal() {
  nv_.clear();
  nv_.reserve(names_.size());
  for (std::size_t i = 0; i < names_.size(); ++i) {
    nv_.push_back(nghttp2_nv{reinterpret_cast<std::uint8_t*>(names_[i].data()),
                             reinterpret_cast<std::uint8_t*>(values_[i].data()), names_[i].size(),
                             values_[i].size(), NGHTTP2_NV_FLAG_NONE});
  }
}

H2FieldBlock H2FieldBlock::response(const core::Response& response,
                                    const std::size_t* body_length) {
  H2FieldBlock block;
  block.names_.reserve(response.headers.size() + 2);
  block.values_.reserve(response.headers.size() + 2);
  block.add(":status", std::to_string(response.status));
  for (const auto& field : response.headers) {
    if (is_connection_specific(field.name)) continue;
    // The body levee sends decides the length; a HEAD answer (no body_length) keeps the
    // upstream's, which describes the body a GET would get.
    if (body_length != nullptr && core::iequals(field.name, "content-length")) continue;
    block.add(field.name, field.value);
  }
  // An empty body needs no length: END_STREAM ends it (and a gRPC trailers-only answer has
  // none).
  if (body_length != nullptr && *body_length > 0) {
    block.add("content-length", std::to_string(*body_length));
  }
  block.seal();
  return block;
}

H2FieldBlock H2FieldBlock::trailers(const core::Headers& trailers) {
  H2FieldBlock block;
  for (const auto& field : trailers) {
    if (is_connection_specific(field.name)) continue;
    if (std::ranges::any_of(k_not_in_trailers,
                            [&](std::string_view f) { return core::iequals(f, field.name); })) {
      continue;
    }
    block.add(field.name, field.value);
  }
  block.seal();
  return block;
}

std::string_view H2FieldBlock::name(std::size_t i) const noexcept { return names_[i]; }
std::string_view H2FieldBlock::value(std::size_t i) const noexcept { return values_[i]; }

}  // namespace levee::server
