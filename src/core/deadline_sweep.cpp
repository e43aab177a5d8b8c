#include "core/deadline_sweep.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace levee::core {

namespace asio = boost::asio;

namespace {

// `expire` is a parameter by value, so the frame owns it (no lambda capture to outlive).
asio::awaitable<void> sweep(asio::any_io_executor executor,
                            std::function<void(Clock::time_point)> expire) {
  asio::steady_timer timer(executor);
  for (;;) {
    timer.expires_after(k_deadline_sweep_interval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    expire(Clock::now());
  }
}

}  // namespace

void start_deadline_sweep(const asio::any_io_executor& executor,
                          std::function<void(Clock::time_point)> expire) {
  asio::co_spawn(executor, sweep(executor, std::move(expire)), asio::detached);
}

}  // namespace levee::core
