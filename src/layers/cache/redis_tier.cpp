#include "layers/cache/redis_tier.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <utility>

#include "admin/metrics.hpp"

namespace levee::layers::cache {

RedisTier::RedisTier(boost::asio::any_io_executor executor, redis::RedisSettings settings,
                     RedisErrorCounters errors)
    : executor_(executor), client_(std::move(executor), std::move(settings)), errors_(errors) {}

void RedisTier::count(const redis::RedisError& error) const noexcept {
  if (auto* counter = errors_[static_cast<std::size_t>(error.kind)]) counter->inc();
}

boost::asio::awaitable<std::optional<std::string>> RedisTier::get(std::string key) {
  auto reply = co_await client_.get(std::move(key));
  if (!reply) {
    count(reply.error());
    co_return std::nullopt;
  }
  co_return std::move(reply).value();
}

boost::asio::awaitable<void> RedisTier::set_detached(std::shared_ptr<RedisTier> self,
                                                     std::string key, std::string value,
                                                     std::chrono::milliseconds ttl) {
  auto done = co_await self->client_.set(std::move(key), std::move(value), ttl);
  if (!done) self->count(done.error());
}

boost::asio::awaitable<void> RedisTier::del_detached(std::shared_ptr<RedisTier> self,
                                                     std::string key) {
  auto done = co_await self->client_.del(std::move(key));
  if (!done) self->count(done.error());
}

// The detached frames are owned by the worker's io_context and keep the tier alive.
void RedisTier::put(std::string key, std::string value, std::chrono::milliseconds ttl) {
  boost::asio::co_spawn(executor_,
                        set_detached(shared_from_this(), std::move(key), std::move(value), ttl),
                        boost::asio::detached);
}

void RedisTier::erase(std::string key) {
  boost::asio::co_spawn(executor_, del_detached(shared_from_this(), std::move(key)),
                        boost::asio::detached);
}

}  // namespace levee::layers::cache
