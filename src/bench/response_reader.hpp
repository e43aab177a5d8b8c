#pragma once
// levee-bench's HTTP/1.1 response parser: Beast's incremental parser (framing, chunked
// bodies, limits) keeping only what the verifier needs, the status and the body, in a
// buffer the caller reuses across responses, plus, when asked, the value of one header
// (the first one of that name; levee's X-Levee-Batch for the overhead measurement) in a
// second reused buffer. One reader per response.

#include <boost/beast/core/string.hpp>
#include <string>
#include <string_view>

#include "core/message_parser.hpp"

namespace levee::bench {

class ResponseReader final : public core::MessageParser<false> {
 public:
  explicit ResponseReader(std::string& body) : MessageParser(body) {}
  // Also captures the header `header_name` (case-insensitive; empty: none) into
  // `header_value`, which the caller owns and which is cleared here.
  ResponseReader(std::string& body, std::string_view header_name, std::string& header_value)
      : MessageParser(body),
        header_name_(header_name.data(), header_name.size()),
        header_value_(&header_value) {
    header_value.clear();
  }

  [[nodiscard]] int status() const noexcept { return status_; }
  // Whether the header asked for was in the response (its value may still be empty).
  [[nodiscard]] bool has_header() const noexcept { return header_found_; }

 private:
  void on_response_impl(int code, string_view, int, error_code&) override { status_ = code; }
  void on_header_field(boost::beast::http::field, string_view name, string_view value,
                       error_code&) override {
    if (header_found_ || header_name_.empty() || !boost::beast::iequals(name, header_name_)) {
      return;
    }
    header_found_ = true;
    header_value_->assign(value.data(), value.size());
  }

  int status_ = 0;
  string_view header_name_;
  std::string* header_value_ = nullptr;
  bool header_found_ = false;
};

}  // namespace levee::bench
