#include "server/request_parser.hpp"

#include <iterator>

namespace levee::server {

namespace http = boost::beast::http;

RequestParser::RequestParser() : MessageParser(request_.body) {
  request_.headers.reserve(k_expected_fields);
}

std::string_view RequestParser::transfer_encoding() const noexcept {
  if (coding_index_ == k_none) return {};
  return std::next(request_.headers.begin(), static_cast<std::ptrdiff_t>(coding_index_))->value;
}

std::string_view RequestParser::expect() const noexcept {
  if (expect_index_ == k_none) return {};
  return std::next(request_.headers.begin(), static_cast<std::ptrdiff_t>(expect_index_))->value;
}

void RequestParser::on_request_impl(http::verb, string_view method_str, string_view target,
                                    int version, error_code&) {
  request_.method.assign(method_str.data(), method_str.size());
  request_.target.assign(target.data(), target.size());
  request_.version = static_cast<unsigned>(version);
}

void RequestParser::on_header_field(http::field name, string_view name_string, string_view value,
                                    error_code&) {
  switch (name) {
    case http::field::host:
      ++host_fields_;
      break;
    case http::field::content_length:
      ++length_fields_;
      break;
    case http::field::transfer_encoding:
      ++coding_fields_;
      coding_index_ = request_.headers.size();
      break;
    case http::field::expect:
      expect_index_ = request_.headers.size();
      break;
    default:
      break;
  }
  request_.headers.add(name_string, value);
}

}  // namespace levee::server
