#pragma once
// The shared tier on Redis (DESIGN.md "Cache and circuit breaker"): one RedisClient per
// worker (src/redis/redis_client.hpp), driven by that worker's io_context. Every failure —
// Redis down, slow, overloaded, a protocol error — is counted in
// levee_cache_redis_errors_total{kind} and seen by the cache layer as a miss; a store or an
// erase never delays the request that caused it.
//
// Threading: created, used and shut down on its worker's thread (or before that thread starts
// and after it ended). put() and erase() detach a coroutine on the worker's io_context; the
// coroutine owns a shared_ptr to the tier, so the tier lives until it ends.

#include <array>
#include <memory>
#include <string>

#include "layers/cache/shared_tier.hpp"
#include "redis/redis_client.hpp"

namespace levee::admin {
class Counter;
}  // namespace levee::admin

namespace levee::layers::cache {

using RedisErrorCounters = std::array<admin::Counter*, redis::redis_error_kind_count>;

class RedisTier final : public SharedTier, public std::enable_shared_from_this<RedisTier> {
 public:
  RedisTier(boost::asio::any_io_executor executor, redis::RedisSettings settings,
            RedisErrorCounters errors);

  [[nodiscard]] boost::asio::awaitable<std::optional<std::string>> get(std::string key) override;
  void put(std::string key, std::string value, std::chrono::milliseconds ttl) override;
  void erase(std::string key) override;

  void shutdown() noexcept { client_.shutdown(); }
  [[nodiscard]] const redis::RedisClient& client() const noexcept { return client_; }

 private:
  void count(const redis::RedisError& error) const noexcept;
  [[nodiscard]] static boost::asio::awaitable<void> set_detached(std::shared_ptr<RedisTier> self,
                                                                 std::string key, std::string value,
                                                                 std::chrono::milliseconds ttl);
  [[nodiscard]] static boost::asio::awaitable<void> del_detached(std::shared_ptr<RedisTier> self,
                                                                 std::string key);

  boost::asio::any_io_executor executor_;
  redis::RedisClient client_;
  RedisErrorCounters errors_;
};

}  // namespace levee::layers::cache
