#include "core/periodic.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

namespace levee::core {

namespace asio = boost::asio;

namespace {

// `tick` is a parameter by value, so the frame owns it (no lambda capture to outlive).
asio::awaitable<void> run_every(asio::any_io_executor executor, Clock::duration interval,
                                std::function<void(Clock::time_point)> tick) {
  asio::steady_timer timer(executor);
  for (;;) {
    timer.expires_after(interval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    tick(timer.expiry());
  }
}

}  // namespace

void start_periodic(const asio::any_io_executor& executor, Clock::duration interval,
                    std::function<void(Clock::time_point due)> tick) {
  asio::co_spawn(executor, run_every(executor, interval, std::move(tick)), asio::detached);
}

}  // namespace levee::core
