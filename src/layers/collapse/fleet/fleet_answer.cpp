#include "layers/collapse/fleet/fleet_answer.hpp"

#include <chrono>

#include "core/clock.hpp"
#include "layers/cache/cache_control.hpp"
#include "layers/cache/cached_response.hpp"
#include "layers/cache/storability.hpp"

namespace levee::layers::collapse::fleet {

std::string_view to_string(Unshared reason) noexcept {
  switch (reason) {
    case Unshared::set_cookie:
      return "set_cookie";
    case Unshared::no_store:
      return "no_store";
    case Unshared::private_:
      return "private";
    case Unshared::status:
      return "status";
    case Unshared::too_large:
      return "too_large";
  }
  return "unknown";
}

std::optional<Unshared> unshared_reason(const core::Response& answer, std::uint64_t max_bytes) {
  if (answer.upstream_failed || answer.shed || answer.breaker_open ||
      !cache::is_cacheable_status(answer.status)) {
    return Unshared::status;
  }
  if (answer.headers.contains("set-cookie")) return Unshared::set_cookie;
  const cache::CacheControl control = cache::parse_cache_control(answer.headers);
  if (control.no_store) return Unshared::no_store;
  if (control.private_) return Unshared::private_;
  if (answer.body_size() > max_bytes) return Unshared::too_large;
  return std::nullopt;
}

std::string encode_answer(const core::Response& answer) {
  cache::CachedResponse entry;
  entry.status = answer.status;
  entry.headers = answer.headers;
  entry.body = answer.body;
  entry.trailers = answer.trailers;
  const auto now = core::Clock::now();
  entry.stored_at = now;
  return cache::encode(entry, now, std::chrono::system_clock::now());
}

std::optional<core::Response> decode_answer(std::string_view bytes) {
  auto decoded = cache::decode(bytes, core::Clock::now(), std::chrono::system_clock::now());
  if (!decoded) return std::nullopt;
  core::Response answer;
  answer.status = decoded.value().status;
  answer.headers = std::move(decoded.value().headers);
  answer.body = std::move(decoded.value().body);
  answer.trailers = std::move(decoded.value().trailers);
  return answer;
}

}  // namespace levee::layers::collapse::fleet
