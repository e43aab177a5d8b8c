#pragma once
// Parses an HTTP/1.x request straight into a core::Request: Beast's incremental parser does
// the syntax (request line, fields, chunked framing, limits); this class stores what it
// reports without building Beast's own message first, which would cost an allocation per
// field and a second copy of every header. One parser per request; not reusable.

#include <boost/beast/http/basic_parser.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/request.hpp"

namespace levee::server {

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  RequestParser();

  [[nodiscard]] core::Request& request() noexcept { return request_; }
  [[nodiscard]] const core::Request& request() const noexcept { return request_; }

  // How often the fields that decide framing and routing occurred, for the smuggling and
  // Host checks (request_checks.hpp).
  [[nodiscard]] std::size_t host_fields() const noexcept { return host_fields_; }
  [[nodiscard]] std::size_t content_length_fields() const noexcept { return length_fields_; }
  [[nodiscard]] std::size_t transfer_encoding_fields() const noexcept { return coding_fields_; }
  [[nodiscard]] std::size_t expect_fields() const noexcept {
    return expect_index_ == k_none ? 0 : 1;
  }
  // Values of the last Transfer-Encoding and Expect fields; empty when absent.
  [[nodiscard]] std::string_view transfer_encoding() const noexcept;
  [[nodiscard]] std::string_view expect() const noexcept;

 private:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb method, string_view method_str, string_view target,
                       int version, error_code& ec) override;
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override;
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t remain, string_view body, error_code& ec) override;
  void on_finish_impl(error_code&) override {}

  core::Request request_;
  std::size_t host_fields_ = 0;
  std::size_t length_fields_ = 0;
  std::size_t coding_fields_ = 0;
  static constexpr std::size_t k_none = static_cast<std::size_t>(-1);
  std::size_t coding_index_ = k_none;  // indexes into request_.headers (which may reallocate)
  std::size_t expect_index_ = k_none;
};

}  // namespace levee::server
