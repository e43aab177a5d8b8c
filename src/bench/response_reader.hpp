#pragma once
// levee-bench's HTTP/1.1 response parser: Beast's incremental parser (framing, chunked
// bodies, limits) keeping only what the verifier needs, the status and the body, in a
// buffer the caller reuses across responses. One reader per response.

#include <string>

#include "core/message_parser.hpp"

namespace levee::bench {

class ResponseReader final : public core::MessageParser<false> {
 public:
  explicit ResponseReader(std::string& body) : MessageParser(body) {}

  [[nodiscard]] int status() const noexcept { return status_; }

 private:
  void on_response_impl(int code, string_view, int, error_code&) override { status_ = code; }
  void on_field_impl(boost::beast::http::field, string_view, string_view, error_code&) override {}

  int status_ = 0;
};

}  // namespace levee::bench
