#include "upstream/response_parser.hpp"

#include <algorithm>

namespace levee::upstream {

namespace http = boost::beast::http;

namespace {
constexpr std::size_t k_expected_fields = 16;
// A Content-Length is a claim; reserve at most this much for it (body_limit still applies).
constexpr std::uint64_t k_max_reserve = 1024 * 1024;
}  // namespace

ResponseParser::ResponseParser() { response_.headers.reserve(k_expected_fields); }

core::Response ResponseParser::take() {
  if (!body_.empty()) response_.body = std::make_shared<const std::string>(std::move(body_));
  return std::move(response_);
}

void ResponseParser::on_response_impl(int code, string_view, int, error_code&) {
  response_.status = code;
}

void ResponseParser::on_field_impl(http::field, string_view name_string, string_view value,
                                   error_code&) {
  response_.headers.add(name_string, value);
}

void ResponseParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                       error_code&) {
  if (content_length) {
    body_.reserve(static_cast<std::size_t>(std::min(*content_length, k_max_reserve)));
  }
}

std::size_t ResponseParser::on_body_impl(string_view body, error_code&) {
  body_.append(body.data(), body.size());
  return body.size();
}

std::size_t ResponseParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code&) {
  body_.append(body.data(), body.size());
  return body.size();
}

}  // namespace levee::upstream
