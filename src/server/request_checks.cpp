#include "server/request_checks.hpp"

#include <cctype>

#include "core/headers.hpp"

namespace levee::server {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A "." or ".." path segment, literal or percent-encoded. Routing matches path prefixes, so
// "/api/../admin" would match "/api/" here and mean "/admin" upstream.
bool has_dot_segment(std::string_view path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    auto segment = path.substr(start, end - start);
    std::size_t dots = 0;
    bool only_dots = !segment.empty();
    for (std::size_t i = 0; i < segment.size() && only_dots;) {
      if (segment[i] == '.') {
        ++dots;
        ++i;
      } else if (segment.size() - i >= 3 && segment[i] == '%' && segment[i + 1] == '2' &&
                 (segment[i + 2] == 'e' || segment[i + 2] == 'E')) {
        ++dots;
        i += 3;
      } else {
        only_dots = false;
      }
    }
    if (only_dots && dots <= 2) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

HeaderProblem check_header(const RequestParser& parser) {
  const auto& request = parser.request();
  const unsigned version = request.version;
  if (version != 10 && version != 11) {
    return {RejectReason::unsupported, 505, "only HTTP/1.0 and HTTP/1.1 are supported"};
  }
  const std::size_t hosts = parser.host_fields();
  const std::size_t lengths = parser.content_length_fields();
  const std::size_t codings = parser.transfer_encoding_fields();
  const std::string_view coding = parser.transfer_encoding();
  if (version == 11 && hosts == 0) return {RejectReason::bad_request, 400, "missing Host header"};
  if (hosts > 1) return {RejectReason::bad_request, 400, "more than one Host header"};
  if (lengths > 0 && codings > 0) {
    return {RejectReason::bad_request, 400,
            "both Content-Length and Transfer-Encoding are present"};
  }
  if (codings > 1) return {RejectReason::bad_request, 400, "more than one Transfer-Encoding"};
  if (codings == 1 && !core::iequals(trim(coding), "chunked")) {
    if (!parser.chunked()) {
      // RFC 9112 6.3: without chunked last the body length cannot be known.
      return {RejectReason::bad_request, 400, "Transfer-Encoding without final chunked"};
    }
    return {RejectReason::unsupported, 501, "only the chunked transfer coding is supported"};
  }
  const std::string_view target = request.target;
  if (target.empty() || (target.front() != '/' && target != "*")) {
    return {RejectReason::bad_request, 400, "request target must be a path"};
  }
  if (has_dot_segment(target.substr(0, target.find('?')))) {
    return {RejectReason::bad_request, 400, "request path must not contain . or .. segments"};
  }
  return {};
}

bool names_other_http_version(std::string_view received) noexcept {
  auto line = received.substr(0, received.find('\r'));
  auto version = line.substr(line.rfind(' ') + 1);
  return version.size() == 8 && version.starts_with("HTTP/") &&
         std::isdigit(static_cast<unsigned char>(version[5])) && version[6] == '.' &&
         std::isdigit(static_cast<unsigned char>(version[7]));
}

bool is_continue_expectation(std::string_view value) noexcept {
  return core::iequals(trim(value), "100-continue");
}

}  // namespace levee::server
