#include "core/request.hpp"

#include <limits>

namespace levee::core {

std::string_view Request::path() const noexcept {
  std::string_view t = target;
  auto q = t.find('?');
  return q == std::string_view::npos ? t : t.substr(0, q);
}

std::string_view Request::query() const noexcept {
  std::string_view t = target;
  auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

std::string_view Request::host() const noexcept {
  const std::string* h = headers.find("Host");
  if (h == nullptr) return {};
  std::string_view v = *h;
  if (!v.empty() && v.front() == '[') {  // IPv6 literal: "[::1]:8080"
    auto close = v.find(']');
    return close == std::string_view::npos ? v : v.substr(0, close + 1);
  }
  auto colon = v.rfind(':');
  return colon == std::string_view::npos ? v : v.substr(0, colon);
}

bool is_idempotent(std::string_view m) noexcept {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
}

boost::asio::awaitable<bool> read_whole_body(Request& request) {
  if (!request.body_stream) co_return true;
  auto body = co_await read_all(*request.body_stream, std::numeric_limits<std::size_t>::max());
  if (!body) co_return false;
  request.body += std::move(body).value();
  if (request.trailers.empty()) request.trailers = request.body_stream->take_trailers();
  request.body_stream.reset();
  co_return true;
}

}  // namespace levee::core
