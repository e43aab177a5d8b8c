#pragma once
// Parses an upstream's HTTP/1.x response straight into a core::Response (the counterpart of
// server/request_parser.hpp): Beast's incremental parser does the syntax, chunked framing
// and limits; the fields and the body land in levee's types without an intermediate Beast
// message. One parser per response; not reusable.

#include <boost/beast/http/basic_parser.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/response.hpp"

namespace levee::upstream {

class ResponseParser final : public boost::beast::http::basic_parser<false> {
 public:
  ResponseParser();

  [[nodiscard]] int status() const noexcept { return response_.status; }
  // The parsed response, its body moved into a shared buffer. Call once, when is_done().
  [[nodiscard]] core::Response take();

 private:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override;
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t remain, string_view body, error_code& ec) override;
  void on_finish_impl(error_code&) override {}

  core::Response response_;
  std::string body_;
};

}  // namespace levee::upstream
