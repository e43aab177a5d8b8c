#include "telemetry/event_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace levee::telemetry {
namespace {

FlushEvent event_numbered(std::uint32_t n, std::string route = "r") {
  FlushEvent event;
  event.route = std::move(route);
  event.size = n;
  return event;
}

TEST(EventQueue, CapacityIsRoundedUpToAPowerOfTwo) {
  EXPECT_EQ(EventQueue(1).capacity(), 2u);
  EXPECT_EQ(EventQueue(5).capacity(), 8u);
  EXPECT_EQ(EventQueue(8).capacity(), 8u);
  EXPECT_THROW(EventQueue(0), std::invalid_argument);
}

TEST(EventQueue, EmptyQueuePopsNothing) {
  EventQueue queue(4);
  EXPECT_FALSE(queue.try_pop().has_value());
}

TEST(EventQueue, FillsThenRejectsWithoutTakingTheEvent) {
  EventQueue queue(4);
  for (std::uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(queue.try_push(event_numbered(i)));
  FlushEvent extra = event_numbered(99, "kept");
  EXPECT_FALSE(queue.try_push(std::move(extra)));
  EXPECT_EQ(extra.route, "kept");  // NOLINT(bugprone-use-after-move): not moved on failure
  EXPECT_EQ(extra.size, 99u);
  // One pop frees exactly one cell.
  ASSERT_TRUE(queue.try_pop().has_value());
  EXPECT_TRUE(queue.try_push(event_numbered(4)));
  EXPECT_FALSE(queue.try_push(event_numbered(5)));
}

TEST(EventQueue, IsFifoAcrossManyLaps) {
  EventQueue queue(4);
  std::uint32_t next_in = 0;
  std::uint32_t next_out = 0;
  for (int lap = 0; lap < 100; ++lap) {
    while (queue.try_push(event_numbered(next_in, "route-" + std::to_string(next_in)))) ++next_in;
    for (int k = 0; k < 3; ++k) {
      auto event = queue.try_pop();
      ASSERT_TRUE(event.has_value());
      EXPECT_EQ(event->size, next_out);
      EXPECT_EQ(event->route, "route-" + std::to_string(next_out));
      ++next_out;
    }
  }
  while (auto event = queue.try_pop()) EXPECT_EQ(event->size, next_out++);
  EXPECT_EQ(next_in, next_out);
}

// Several producers against one consumer, with a ring small enough to be full often. Every
// accepted event arrives exactly once, and each producer's events arrive in its own order.
// Run under TSan too (build-tsan).
TEST(EventQueue, ManyProducersOneConsumer) {
  constexpr int k_producers = 4;
  constexpr std::uint32_t k_per_producer = 20'000;
  EventQueue queue(64);
  std::atomic<int> producers_done{0};
  std::vector<std::uint64_t> accepted(k_producers, 0);

  std::vector<std::thread> producers;
  for (int p = 0; p < k_producers; ++p) {
    producers.emplace_back([&, p] {
      for (std::uint32_t i = 0; i < k_per_producer; ++i) {
        FlushEvent event = event_numbered(i, std::to_string(p));
        // Bounded retry: a full ring is a legitimate outcome (the caller drops), so give up
        // after a few attempts rather than spin forever.
        for (int attempt = 0; attempt < 100; ++attempt) {
          if (queue.try_push(std::move(event))) {
            ++accepted[static_cast<std::size_t>(p)];
            break;
          }
          std::this_thread::yield();
        }
      }
      producers_done.fetch_add(1, std::memory_order_release);
    });
  }

  std::vector<std::int64_t> last_seen(k_producers, -1);
  std::vector<std::uint64_t> received(k_producers, 0);
  bool in_order = true;
  for (;;) {
    const bool all_done = producers_done.load(std::memory_order_acquire) == k_producers;
    auto event = queue.try_pop();
    if (!event) {
      if (all_done) break;
      std::this_thread::yield();
      continue;
    }
    const auto p = static_cast<std::size_t>(std::stoi(event->route));
    if (static_cast<std::int64_t>(event->size) <= last_seen[p]) in_order = false;
    last_seen[p] = event->size;
    ++received[p];
  }
  for (auto& thread : producers) thread.join();

  EXPECT_TRUE(in_order);
  std::uint64_t total = 0;
  for (int p = 0; p < k_producers; ++p) {
    EXPECT_EQ(received[static_cast<std::size_t>(p)], accepted[static_cast<std::size_t>(p)]);
    total += accepted[static_cast<std::size_t>(p)];
  }
  EXPECT_GT(total, 0u);
  EXPECT_FALSE(queue.try_pop().has_value());
}

}  // namespace
}  // namespace levee::telemetry
