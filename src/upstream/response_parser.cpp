#include "upstream/response_parser.hpp"

namespace levee::upstream {

namespace http = boost::beast::http;

ResponseParser::ResponseParser() : MessageParser(body_) {
  response_.headers.reserve(k_expected_fields);
}

core::Response ResponseParser::take() {
  if (!body_.empty()) response_.body = std::make_shared<const std::string>(std::move(body_));
  return std::move(response_);
}

core::Response ResponseParser::take_head() { return std::move(response_); }

void ResponseParser::on_response_impl(int code, string_view, int, error_code&) {
  response_.status = code;
}

void ResponseParser::on_header_field(http::field, string_view name_string, string_view value,
                                     error_code&) {
  response_.headers.add(name_string, value);
}

}  // namespace levee::upstream
