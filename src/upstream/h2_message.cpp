#include "upstream/h2_message.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "core/headers.hpp"
#include "upstream/header_rewrite.hpp"

namespace levee::upstream {

namespace {

// RFC 9113 8.2.2: connection-specific fields an HTTP/2 message must not carry (what
// strip_hop_by_hop leaves), plus those the pseudo-headers or levee's framing replace.
constexpr std::array<std::string_view, 3> k_not_forwarded = {"host", "content-length", "expect"};

// Whether a TE field lists "trailers" (RFC 9110 10.1.4: a comma-separated list of codings,
// each with optional parameters).
bool asks_for_trailers(std::string_view te) {
  while (!te.empty()) {
    const auto comma = te.find(',');
    std::string_view token = te.substr(0, comma);
    token = token.substr(0, token.find(';'));
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
      token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (core::iequals(token, "trailers")) return true;
    if (comma == std::string_view::npos) break;
    te.remove_prefix(comma + 1);
  }
  return false;
}

bool method_has_body_semantics(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

}  // namespace

std::vector<core::Header> h2_request_fields(core::Request& request, std::string_view scheme,
                                            std::string_view default_authority) {
  bool te_trailers = false;
  for (const auto& h : request.headers) {
    if (core::iequals(h.name, "TE") && asks_for_trailers(h.value)) te_trailers = true;
  }
  strip_hop_by_hop(request.headers);
  add_forwarding_headers(request.headers, request.client_address, "http");

  std::vector<core::Header> fields;
  fields.reserve(request.headers.size() + 6);
  const std::string* host = request.headers.find("Host");
  fields.push_back({":method", request.method});
  fields.push_back({":scheme", std::string(scheme)});
  fields.push_back({":authority", host != nullptr ? *host : std::string(default_authority)});
  fields.push_back({":path", request.target.empty() ? std::string("/") : request.target});
  for (const auto& h : request.headers) {
    std::string name = core::to_lower(h.name);
    if (std::find(k_not_forwarded.begin(), k_not_forwarded.end(), name) != k_not_forwarded.end()) {
      continue;
    }
    fields.push_back({std::move(name), h.value});
  }
  if (te_trailers) fields.push_back({"te", "trailers"});
  if (request.body_stream) {
    // Still arriving from the client: its length only if the client declared one.
    if (const auto declared = request.body_stream->length()) {
      fields.push_back({"content-length", std::to_string(*declared)});
    }
  } else if (!request.body.empty() || method_has_body_semantics(request.method)) {
    fields.push_back({"content-length", std::to_string(request.body.size())});
  }
  return fields;
}

void H2ResponseAssembler::begin_block() {
  in_trailers_ = final_;
  if (!in_trailers_) {
    status_ = 0;
    headers_ = {};
  }
}

bool H2ResponseAssembler::field(std::string_view name, std::string_view value) {
  if (!name.empty() && name.front() == ':') {
    if (in_trailers_ || name != ":status" || status_ != 0) return false;
    int status = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), status);
    if (ec != std::errc{} || end != value.data() + value.size() || value.size() != 3 ||
        status < 100 || status > 599) {
      return false;
    }
    status_ = status;
    return true;
  }
  (in_trailers_ ? trailers_ : headers_).add(name, value);
  return true;
}

bool H2ResponseAssembler::end_block() {
  if (in_trailers_) return true;
  if (status_ == 0) return false;
  // Interim answers (100 Continue, 103 Early Hints) precede the real one and are dropped, as
  // on the http1 path.
  if (status_ >= 200) final_ = true;
  return true;
}

bool H2ResponseAssembler::data(std::string_view bytes) {
  if (body_.size() + bytes.size() > max_body_bytes_) return false;
  body_.append(bytes);
  return true;
}

core::Response H2ResponseAssembler::take_head(bool head_request,
                                              std::optional<std::uint64_t>& declared) {
  core::Response response;
  response.status = status_;
  response.headers = std::move(headers_);
  declared.reset();
  if (const std::string* length = response.headers.find("Content-Length")) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(length->data(), length->data() + length->size(), value);
    if (ec == std::errc{} && end == length->data() + length->size()) declared = value;
  }
  strip_hop_by_hop(response.headers);
  // levee frames the body itself (from the body, or the stream's declared length); only a
  // HEAD answer keeps the upstream's, since it describes a body not sent.
  if (!head_request) response.headers.remove("Content-Length");
  append_via(response.headers, "2");
  return response;
}

core::Response H2ResponseAssembler::take(bool head_request) {
  std::optional<std::uint64_t> declared;
  core::Response response = take_head(head_request, declared);
  if (!body_.empty()) response.body = std::make_shared<const std::string>(take_body());
  response.trailers = take_trailers();
  return response;
}

}  // namespace levee::upstream
