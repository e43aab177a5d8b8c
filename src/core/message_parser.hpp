#pragma once
// What the request and the response parser share: Beast's incremental parser (syntax,
// chunked framing, header and body limits) with the body collected into a std::string the
// derived class names. A derived class stores the start line and the header fields in
// levee's own types; the other callbacks of Beast's interface are handled here.
//
// Trailer fields (after a chunked body's last chunk) reach Beast's on_field_impl exactly as
// header fields do. Here they are told apart: a derived class sees only the header section
// through on_header_field(), and the trailer section is kept apart in trailers(), bounded by
// trailer_limit(), so that a trailer can never pose as a header (a second Host, an
// Authorization added after the proxy's checks).

#include <algorithm>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/headers.hpp"

namespace levee::core {

template <bool IsRequest>
class MessageParser : public boost::beast::http::basic_parser<IsRequest> {
 public:
  // The trailer section of a chunked message; empty for other messages.
  [[nodiscard]] const Headers& trailers() const noexcept { return trailers_; }
  [[nodiscard]] Headers take_trailers() noexcept { return std::move(trailers_); }
  // Bytes of trailer fields (names and values) accepted before the parse fails with
  // header_limit; Beast's header_limit() does not apply to the trailer section.
  void trailer_limit(std::size_t bytes) noexcept { trailer_limit_ = bytes; }

 protected:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

  explicit MessageParser(std::string& body) : body_(body) {}

  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code&) override {}
  void on_response_impl(int, string_view, int, error_code&) override {}

  // A field of the header section (never a trailer).
  virtual void on_header_field(boost::beast::http::field name, string_view name_string,
                               string_view value, error_code& ec) = 0;

  void on_header_impl(error_code&) final { in_trailer_section_ = true; }
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code& ec) final {
    if (!in_trailer_section_) {
      on_header_field(name, name_string, value, ec);
      return;
    }
    trailer_bytes_ += name_string.size() + value.size();
    if (trailer_bytes_ > trailer_limit_) {
      ec = boost::beast::http::error::header_limit;
      return;
    }
    trailers_.add(name_string, value);
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code&) override {
    // A Content-Length is a claim; reserve at most this much for it (body_limit still
    // bounds what is stored).
    constexpr std::uint64_t k_max_reserve = 1024 * 1024;
    if (content_length) {
      body_.reserve(static_cast<std::size_t>(std::min(*content_length, k_max_reserve)));
    }
  }
  std::size_t on_body_impl(string_view body, error_code&) override {
    body_.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
    body_.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  // Most messages carry fewer fields than this; one allocation instead of several regrowths.
  static constexpr std::size_t k_expected_fields = 16;

 private:
  static constexpr std::size_t k_default_trailer_limit = 8 * 1024;

  std::string& body_;
  Headers trailers_;
  std::size_t trailer_limit_ = k_default_trailer_limit;
  std::size_t trailer_bytes_ = 0;
  bool in_trailer_section_ = false;
};

}  // namespace levee::core
