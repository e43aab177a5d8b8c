#include "core/loop_lag_probe.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

namespace levee::core {

namespace asio = boost::asio;

namespace {

// `record` is a parameter by value, so the frame owns it (no lambda capture to outlive).
asio::awaitable<void> probe(asio::any_io_executor executor,
                            std::function<void(Clock::duration)> record, Clock::duration interval) {
  asio::steady_timer timer(executor);
  for (;;) {
    timer.expires_after(interval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    record(std::max(Clock::now() - timer.expiry(), Clock::duration::zero()));
  }
}

}  // namespace

void start_loop_lag_probe(const asio::any_io_executor& executor,
                          std::function<void(Clock::duration lag)> record,
                          Clock::duration interval) {
  asio::co_spawn(executor, probe(executor, std::move(record), interval), asio::detached);
}

}  // namespace levee::core
