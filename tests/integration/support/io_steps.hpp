#pragma once
// Driving an io_context step by step from a test's thread, for tests that call coroutine APIs
// (the Redis client, the fleet client) directly: spawn an operation, keep its result, and run
// the io_context until a condition holds or a deadline passes.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

namespace levee::testing {

template <class T>
boost::asio::awaitable<void> store_into(boost::asio::awaitable<T> operation,
                                        std::shared_ptr<std::optional<T>> out) {
  out->emplace(co_await std::move(operation));
}

// Detached: the io_context owns the frame; the result is shared with the test.
template <class T>
std::shared_ptr<std::optional<T>> spawn(boost::asio::io_context& io,
                                        boost::asio::awaitable<T> operation) {
  auto out = std::make_shared<std::optional<T>>();
  boost::asio::co_spawn(io, store_into(std::move(operation), out), boost::asio::detached);
  return out;
}

// Runs `io` until `done()` holds (true) or `within` has passed (false).
template <class Predicate>
bool run_until(boost::asio::io_context& io, Predicate done,
               std::chrono::steady_clock::duration within) {
  using namespace std::chrono_literals;
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    if (io.run_for(2ms) == 0) std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace levee::testing
