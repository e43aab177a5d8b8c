#include "core/response.hpp"

#include <utility>

namespace levee::core {

void Response::hold(std::shared_ptr<void> thing) {
  if (!held_until_written) {
    held_until_written = std::move(thing);
    return;
  }
  using Both = std::pair<std::shared_ptr<void>, std::shared_ptr<void>>;
  held_until_written = std::make_shared<Both>(std::move(held_until_written), std::move(thing));
}

Response Response::text(int status, std::string_view text) {
  std::string body(text);
  if (body.empty() || body.back() != '\n') body.push_back('\n');
  return with_body(status, "text/plain; charset=utf-8", std::move(body));
}

Response Response::with_body(int status, std::string_view content_type, std::string body) {
  Response r;
  r.status = status;
  r.headers.add("Content-Type", content_type);
  r.body = std::make_shared<const std::string>(std::move(body));
  return r;
}

Response Response::client_closed() {
  Response gone = text(k_client_closed_status, "client closed request");
  gone.close_connection = true;
  return gone;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace levee::core
