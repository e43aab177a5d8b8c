#pragma once
// Parses an HTTP/1.x request straight into a core::Request: Beast's incremental parser does
// the syntax (request line, fields, chunked framing, limits); this class stores what it
// reports without building Beast's own message first, which would cost an allocation per
// field and a second copy of every header. One parser per request; not reusable.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/message_parser.hpp"
#include "core/request.hpp"

namespace levee::server {

class RequestParser final : public core::MessageParser<true> {
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
  void on_request_impl(boost::beast::http::verb method, string_view method_str, string_view target,
                       int version, error_code& ec) override;
  void on_header_field(boost::beast::http::field name, string_view name_string, string_view value,
                       error_code& ec) override;

  core::Request request_;
  std::size_t host_fields_ = 0;
  std::size_t length_fields_ = 0;
  std::size_t coding_fields_ = 0;
  static constexpr std::size_t k_none = static_cast<std::size_t>(-1);
  std::size_t coding_index_ = k_none;  // indexes into request_.headers (which may reallocate)
  std::size_t expect_index_ = k_none;
};

}  // namespace levee::server
