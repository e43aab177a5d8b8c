#include "core/permit_pool.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

namespace levee::core {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(PermitPool, TryAcquireStopsAtCapacityAndAReleaseFreesOne) {
  auto pool = PermitPool::create(2, 2);
  PermitPool::Permit a = pool->try_acquire();
  PermitPool::Permit b = pool->try_acquire();
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);
  EXPECT_FALSE(pool->try_acquire());
  EXPECT_EQ(pool->in_use(), 2u);
  a.reset();
  EXPECT_EQ(pool->in_use(), 1u);
  PermitPool::Permit c = pool->try_acquire();
  EXPECT_TRUE(c);
}

TEST(PermitPool, AWaiterWithoutAPermitInTimeGetsNone) {
  auto pool = PermitPool::create(1, 4);
  PermitPool::Permit held = pool->try_acquire();
  asio::io_context io;
  std::optional<bool> got;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        PermitPool::Permit permit = co_await pool->acquire(20ms);
        got = static_cast<bool>(permit);
      },
      asio::detached);
  io.run();
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(*got);
  EXPECT_EQ(pool->waiting(), 0u);
  EXPECT_EQ(pool->in_use(), 1u);
}

TEST(PermitPool, AZeroTimeoutNeverWaits) {
  auto pool = PermitPool::create(1, 4);
  PermitPool::Permit held = pool->try_acquire();
  asio::io_context io;
  std::optional<bool> got;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { got = static_cast<bool>(co_await pool->acquire(0ms)); },
      asio::detached);
  io.run();
  EXPECT_EQ(got, false);
}

TEST(PermitPool, WaitersAreServedInOrderWhenPermitsComeBack) {
  auto pool = PermitPool::create(1, 8);
  PermitPool::Permit held = pool->try_acquire();
  asio::io_context io;
  std::vector<int> order;
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          PermitPool::Permit permit = co_await pool->acquire(10s);
          EXPECT_TRUE(permit);
          order.push_back(i);
          asio::steady_timer pause(co_await asio::this_coro::executor, 1ms);
          co_await pause.async_wait(asio::use_awaitable);
        },
        asio::detached);
  }
  // Let all three join the line, then give the permit back.
  asio::post(io, [&] { asio::post(io, [&] { held.reset(); }); });
  io.run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(pool->in_use(), 0u);
  EXPECT_EQ(pool->waiting(), 0u);
}

TEST(PermitPool, TheLineIsBounded) {
  auto pool = PermitPool::create(1, 1);
  PermitPool::Permit held = pool->try_acquire();
  asio::io_context io;
  std::vector<bool> got;
  for (int i = 0; i < 2; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          got.push_back(static_cast<bool>(co_await pool->acquire(30ms)));
        },
        asio::detached);
  }
  io.run();
  // The second finds the line full and is refused at once; the first times out after.
  EXPECT_EQ(got, (std::vector<bool>{false, false}));
  EXPECT_EQ(pool->waiting(), 0u);
}

TEST(PermitPool, APermitReleasedOnAnotherThreadWakesTheWaiter) {
  auto pool = PermitPool::create(4, 64);
  constexpr int k_threads = 4;
  constexpr int k_rounds = 500;
  std::vector<std::thread> threads;
  std::atomic<int> granted{0};
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&] {
      asio::io_context io;
      for (int i = 0; i < 8; ++i) {
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
              for (int round = 0; round < k_rounds / 8; ++round) {
                PermitPool::Permit permit = co_await pool->acquire(10s);
                if (permit) granted.fetch_add(1);
                co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
              }
            },
            asio::detached);
      }
      io.run();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(granted.load(), k_threads * (k_rounds / 8) * 8);
  EXPECT_EQ(pool->in_use(), 0u);
  EXPECT_EQ(pool->waiting(), 0u);
}

}  // namespace
}  // namespace levee::core
