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
#include <stdexcept>
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

// Runs only the handlers that are ready now, never waiting for a timer or for I/O; true when
// `done` holds afterwards. An operation that needs a timer to fire, or a reply from a server
// that is paused or absent, cannot complete in here.
template <class Predicate>
bool done_without_waiting(boost::asio::io_context& io, Predicate done) {
  // Bounded: a reconnect loop that is ready again and again must not keep the test here.
  for (int round = 0; round < 1000 && !done(); ++round) {
    if (io.stopped()) io.restart();
    if (io.poll() == 0) break;
  }
  return done();
}

// The operation's result if it completes without waiting (done_without_waiting), else nullopt.
template <class T>
std::optional<T> result_without_waiting(boost::asio::io_context& io,
                                        boost::asio::awaitable<T> operation) {
  auto out = spawn(io, std::move(operation));
  if (!done_without_waiting(io, [&] { return out->has_value(); })) return std::nullopt;
  return std::move(*out);
}

// The operation's result, running `io` for it; throws if it takes longer than `within`.
template <class T>
T await(boost::asio::io_context& io, boost::asio::awaitable<T> operation,
        std::chrono::steady_clock::duration within = std::chrono::seconds(5)) {
  auto out = spawn(io, std::move(operation));
  if (!run_until(io, [&] { return out->has_value(); }, within)) {
    throw std::runtime_error("the operation did not complete in time");
  }
  return std::move(**out);
}

}  // namespace levee::testing
