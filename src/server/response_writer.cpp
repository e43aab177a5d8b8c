#include "server/response_writer.hpp"

#include <fmt/format.h>

namespace levee::server {

bool status_has_body(int status) noexcept {
  return !(status < 200 || status == 204 || status == 304);
}

BodyFraming body_framing(const core::Response& response, unsigned version) noexcept {
  if (!response.stream || response.stream->length()) return BodyFraming::length;
  return version == 11 ? BodyFraming::chunked : BodyFraming::close;
}

std::string serialize_response_head(const core::Response& response,
                                    const ResponseFraming& framing) {
  std::string head;
  head.reserve(128 + response.headers.size() * 48);
  fmt::format_to(std::back_inserter(head), "HTTP/1.{} {} {}\r\n", framing.version == 10 ? 0 : 1,
                 response.status, core::reason_phrase(response.status));
  const std::string* upstream_length = nullptr;
  for (const auto& h : response.headers) {
    if (core::iequals(h.name, "Content-Length")) {
      upstream_length = &h.value;
      continue;
    }
    if (core::iequals(h.name, "Connection") || core::iequals(h.name, "Transfer-Encoding") ||
        core::iequals(h.name, "Keep-Alive")) {
      continue;
    }
    head += h.name;
    head += ": ";
    head += h.value;
    head += "\r\n";
  }
  if (status_has_body(response.status)) {
    if (framing.head_request && upstream_length != nullptr) {
      head += "Content-Length: ";
      head += *upstream_length;
      head += "\r\n";
    } else if (!response.stream) {
      head += "Content-Length: ";
      head += std::to_string(response.body_size());
      head += "\r\n";
    } else if (auto declared = response.stream->length()) {
      head += "Content-Length: ";
      head += std::to_string(*declared);
      head += "\r\n";
    } else if (framing.version == 11 && !framing.head_request) {
      head += "Transfer-Encoding: chunked\r\n";
    }
  }
  if (!framing.keep_alive) {
    head += "Connection: close\r\n";
  } else if (framing.version == 10) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  return head;
}

}  // namespace levee::server
