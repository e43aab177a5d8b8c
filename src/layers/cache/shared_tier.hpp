#pragma once
// The cache's shared tier as the cache layer sees it (DESIGN.md "Cache and circuit
// breaker"): a remote key-value store several levee instances read and fill, Redis in
// production (redis_tier.hpp). One per worker, used on that worker's io_context only.
//
// Contract: nothing here may fail or stall a request. get() answers within the tier's own
// timeout, with nullopt for a miss *and* for any error (which the tier counts); put() and
// erase() return at once and finish in the background, or are dropped.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>

namespace levee::layers::cache {

class SharedTier {
 public:
  SharedTier() = default;
  SharedTier(const SharedTier&) = delete;
  SharedTier& operator=(const SharedTier&) = delete;
  virtual ~SharedTier() = default;

  [[nodiscard]] virtual boost::asio::awaitable<std::optional<std::string>> get(std::string key) = 0;
  virtual void put(std::string key, std::string value, std::chrono::milliseconds ttl) = 0;
  virtual void erase(std::string key) = 0;
};

}  // namespace levee::layers::cache
