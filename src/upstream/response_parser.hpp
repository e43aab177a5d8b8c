#pragma once
// Parses an upstream's HTTP/1.x response straight into a core::Response (the counterpart of
// server/request_parser.hpp): Beast's incremental parser does the syntax, chunked framing
// and limits; the fields and the body land in levee's types without an intermediate Beast
// message. One parser per response; not reusable.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/message_parser.hpp"
#include "core/response.hpp"

namespace levee::upstream {

class ResponseParser final : public core::MessageParser<false> {
 public:
  ResponseParser();

  [[nodiscard]] int status() const noexcept { return response_.status; }
  // The parsed response, its body moved into a shared buffer. Call once, when is_done().
  [[nodiscard]] core::Response take();
  // The status line and headers only, when the body is to be streamed (is_header_done()).
  [[nodiscard]] core::Response take_head();
  // The body bytes parsed since the last clear (the streamed body's current piece).
  [[nodiscard]] std::string& body_bytes() noexcept { return body_; }

 private:
  void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
  void on_header_field(boost::beast::http::field name, string_view name_string, string_view value,
                       error_code& ec) override;

  core::Response response_;
  std::string body_;
};

}  // namespace levee::upstream
