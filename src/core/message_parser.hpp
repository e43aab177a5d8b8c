#pragma once
// What the request and the response parser share: Beast's incremental parser (syntax,
// chunked framing, header and body limits) with the body collected into a std::string the
// derived class names. A derived class stores the start line and the fields in levee's own
// types; the other callbacks of Beast's interface are handled here.

#include <algorithm>
#include <boost/beast/http/basic_parser.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

namespace levee::core {

template <bool IsRequest>
class MessageParser : public boost::beast::http::basic_parser<IsRequest> {
 protected:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

  explicit MessageParser(std::string& body) : body_(body) {}

  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code&) override {}
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_header_impl(error_code&) override {}
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
  std::string& body_;
};

}  // namespace levee::core
