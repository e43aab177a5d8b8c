#include "levee/batcher.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/manual_clock.hpp"

namespace levee {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using IntBatcher = Batcher<int, int>;

// Records what the batcher reports, for assertions.
struct Recorder final : BatchObserver {
  std::vector<std::pair<FlushReason, std::size_t>> flushes;
  std::size_t answered_ok = 0, answered_failed = 0, sheds = 0, withdrawals = 0;
  void flushed(FlushReason reason, std::size_t items, std::size_t,
               std::chrono::nanoseconds) override {
    flushes.emplace_back(reason, items);
  }
  void answered(std::size_t, bool ok) override { ++(ok ? answered_ok : answered_failed); }
  void shed() override { ++sheds; }
  void withdrawn() override { ++withdrawals; }
};

// A batch call that answers item * 10 for each item, after the test opens its gate (when
// `held`), and remembers every batch it was given.
struct FakeUpstream {
  explicit FakeUpstream(asio::io_context& io) : gate(io, asio::steady_timer::time_point::max()) {}
  asio::steady_timer gate;
  bool held = false;
  int passes = 0;  // held calls that may still return, oldest first
  std::vector<std::vector<int>> batches;
  std::optional<BatchFailure> fail_next;

  IntBatcher::Call call() {
    return [this](std::vector<int> items) -> asio::awaitable<BatchReply<int>> {
      batches.push_back(items);
      while (held && passes == 0) {
        boost::system::error_code ec;
        co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (held) --passes;
      if (fail_next) {
        BatchFailure failure = *fail_next;
        fail_next.reset();
        co_return failure;
      }
      std::vector<int> results;
      for (int item : items) results.push_back(item * 10);
      co_return results;
    };
  }
  void release() {
    held = false;
    gate.cancel();
  }
  void release_one() {
    ++passes;
    gate.cancel();
  }
};

struct Fixture {
  explicit Fixture(BatchLimits limits, std::shared_ptr<const FlushPolicy> policy =
                                           std::make_shared<EnvelopePolicy>("timer"))
      : recorder(std::make_shared<Recorder>()),
        batcher(IntBatcher::create(limits, std::move(policy), recorder)),
        handle(batcher->handle(io.get_executor(), upstream.call())) {}
  asio::io_context io;
  FakeUpstream upstream{io};
  std::shared_ptr<Recorder> recorder;
  std::shared_ptr<IntBatcher> batcher;
  IntBatcher::Handle handle;
  std::vector<ItemOutcome<int>> outcomes;

  void submit(int item, std::size_t bytes = 1, std::uint64_t key = 0,
              asio::cancellation_slot slot = {}) {
    asio::co_spawn(io, handle.submit(item, bytes, key, slot),
                   [this](std::exception_ptr e, ItemOutcome<int> outcome) {
                     if (e) std::rethrow_exception(e);
                     outcomes.push_back(std::move(outcome));
                   });
  }
  [[nodiscard]] std::vector<int> results() const {
    std::vector<int> values;
    for (const auto& outcome : outcomes) {
      if (const int* value = std::get_if<int>(&outcome)) values.push_back(*value);
    }
    std::sort(values.begin(), values.end());
    return values;
  }
  [[nodiscard]] std::size_t failures(BatchError error) const {
    return std::count_if(outcomes.begin(), outcomes.end(), [error](const auto& outcome) {
      const auto* failure = std::get_if<BatchFailure>(&outcome);
      return failure != nullptr && failure->error == error;
    });
  }
};

BatchLimits limits(std::size_t size, std::chrono::nanoseconds max_wait = 1h) {
  BatchLimits l;
  l.max_batch_size = size;
  l.max_wait = max_wait;
  return l;
}

std::vector<int> range(int from, int to) {
  std::vector<int> values;
  for (int i = from; i < to; ++i) values.push_back(i);
  return values;
}

std::vector<int> times_ten(std::vector<int> values) {
  for (int& value : values) value *= 10;
  return values;
}

TEST(Batcher, FullBatchesGoAtOnceAndEachItemGetsItsOwnResult) {
  Fixture f(limits(100));
  for (int i = 0; i < 250; ++i) f.submit(i);
  f.io.poll();
  // Two full batches left at once; the rest waits for max_wait (an hour here).
  ASSERT_EQ(f.upstream.batches.size(), 2u);
  EXPECT_EQ(f.upstream.batches[0], range(0, 100));
  EXPECT_EQ(f.upstream.batches[1], range(100, 200));
  EXPECT_EQ(f.outcomes.size(), 200u);
  EXPECT_EQ(f.batcher->stats().open_items, 50u);
  EXPECT_EQ(f.batcher->stats().pending_items, 50u);
  f.batcher->shutdown();
  f.io.poll();
  ASSERT_EQ(f.upstream.batches.size(), 3u);
  EXPECT_EQ(f.results(), times_ten(range(0, 250)));
  EXPECT_EQ(f.recorder->flushes,
            (std::vector<std::pair<FlushReason, std::size_t>>{{FlushReason::size_cap, 100},
                                                              {FlushReason::size_cap, 100},
                                                              {FlushReason::shutdown, 50}}));
  EXPECT_EQ(f.batcher->stats().pending_items, 0u);
}

TEST(Batcher, ALoneItemGoesAtMaxWait) {
  Fixture f(limits(100, 20ms));
  f.submit(7);
  f.io.poll();
  EXPECT_TRUE(f.upstream.batches.empty());
  f.io.run();  // ends when the batch has gone and been answered
  EXPECT_EQ(f.results(), std::vector<int>{70});
  ASSERT_EQ(f.recorder->flushes.size(), 1u);
  EXPECT_EQ(f.recorder->flushes[0].first, FlushReason::timeout);
}

TEST(Batcher, TheByteCapClosesABatchBeforeAnItemWouldPassIt) {
  BatchLimits l = limits(100);
  l.max_batch_bytes = 100;
  Fixture f(l);
  for (int i = 0; i < 5; ++i) f.submit(i, 40);
  f.io.poll();
  // 40 + 40 fits, a third would pass 100: batches of two.
  ASSERT_EQ(f.upstream.batches.size(), 2u);
  EXPECT_EQ(f.upstream.batches[0], range(0, 2));
  EXPECT_EQ(f.recorder->flushes[0].first, FlushReason::bytes_cap);
  f.submit(9, 101);
  f.io.poll();
  EXPECT_EQ(f.failures(BatchError::too_large), 1u);
}

TEST(Batcher, ItemsWithTheSameExclusiveKeyNeverShareABatch) {
  Fixture f(limits(100));
  f.submit(1, 1, 42);
  f.submit(2, 1, 43);
  f.submit(3, 1, 42);
  f.io.poll();
  ASSERT_EQ(f.upstream.batches.size(), 1u);
  EXPECT_EQ(f.upstream.batches[0], range(1, 3));
  EXPECT_EQ(f.recorder->flushes[0].first, FlushReason::duplicate_key);
}

TEST(Batcher, AFailedCallFailsItsMembersAndTheNextBatchGoesAsUsual) {
  Fixture f(limits(2));
  f.upstream.fail_next = BatchFailure{BatchError::call_failed, "upstream answered 500", 502};
  for (int i = 0; i < 4; ++i) f.submit(i);
  f.io.poll();
  EXPECT_EQ(f.failures(BatchError::call_failed), 2u);
  for (const auto& outcome : f.outcomes) {
    if (const auto* failure = std::get_if<BatchFailure>(&outcome)) {
      EXPECT_EQ(failure->message, "upstream answered 500");
      EXPECT_EQ(failure->code, 502);
    }
  }
  EXPECT_EQ(f.results(), (std::vector<int>{20, 30}));
  EXPECT_EQ(f.recorder->answered_failed, 1u);
  EXPECT_EQ(f.recorder->answered_ok, 1u);
}

TEST(Batcher, ACallThatThrowsOrMiscountsFailsOnlyItsBatch) {
  asio::io_context io;
  int calls = 0;
  auto batcher = IntBatcher::create(limits(2), std::make_shared<EnvelopePolicy>("size"));
  auto handle = batcher->handle(
      io.get_executor(), [&calls](std::vector<int> items) -> asio::awaitable<BatchReply<int>> {
        ++calls;
        if (calls == 1) throw std::runtime_error("boom");
        if (calls == 2) co_return std::vector<int>{1};  // one result for two items
        if (calls == 3) throw 7;                        // not even a std::exception
        co_return items;
      });
  std::vector<std::string> failures;
  int ok = 0;
  for (int i = 0; i < 8; ++i) {
    asio::co_spawn(io, handle.submit(i, 1), [&](std::exception_ptr, ItemOutcome<int> outcome) {
      if (auto* failure = std::get_if<BatchFailure>(&outcome)) {
        failures.push_back(failure->message);
      } else {
        ++ok;
      }
    });
  }
  io.run();
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(ok, 2);
  std::sort(failures.begin(), failures.end());
  EXPECT_EQ(failures, (std::vector<std::string>{
                          "batch call answered 1 results for 2 items",
                          "batch call answered 1 results for 2 items", "batch call failed: boom",
                          "batch call failed: boom", "batch call failed: unknown exception",
                          "batch call failed: unknown exception"}));
  EXPECT_EQ(batcher->stats().pending_items, 0u);  // no failure kept its capacity
}

TEST(Batcher, InflightAndQueueBoundsShedTheRestAtOnce) {
  BatchLimits l = limits(1);
  l.max_inflight_batches = 1;
  l.max_queued_batches = 1;
  Fixture f(l);
  f.upstream.held = true;
  for (int i = 0; i < 5; ++i) f.submit(i);
  f.io.poll();
  // One call in flight, one batch queued, one item in the open batch (due, no place to go):
  // the pending limit is (1 + 1 + 1) * 1 items; the other two are shed at once.
  EXPECT_EQ(f.upstream.batches.size(), 1u);
  EXPECT_EQ(f.failures(BatchError::shed), 2u);
  EXPECT_EQ(f.recorder->sheds, 2u);
  const BatchStats stats = f.batcher->stats();
  EXPECT_EQ(stats.inflight_batches, 1u);
  EXPECT_EQ(stats.queued_batches, 1u);
  EXPECT_EQ(stats.open_items, 1u);
  f.upstream.release();
  f.io.poll();
  EXPECT_EQ(f.results(), (std::vector<int>{0, 10, 20}));
  EXPECT_EQ(f.batcher->stats().pending_items, 0u);
}

TEST(Batcher, ADueBatchGoesAsSoonAsAQueuePlaceFrees) {
  BatchLimits l = limits(1);
  l.max_inflight_batches = 1;
  l.max_queued_batches = 1;
  Fixture f(l);
  f.upstream.held = true;
  for (int i = 1; i <= 3; ++i) f.submit(i);
  f.io.poll();
  // 1 in flight, 2 queued, 3 due in the open batch.
  EXPECT_EQ(f.batcher->stats().open_items, 1u);
  f.upstream.release_one();  // 1 answers: 2 takes the call slot and 3 its queue place
  f.io.poll();
  const BatchStats stats = f.batcher->stats();
  EXPECT_EQ(stats.inflight_batches, 1u);
  EXPECT_EQ(stats.queued_batches, 1u);
  EXPECT_EQ(stats.open_items, 0u);
  f.upstream.release();
  f.io.poll();
  EXPECT_EQ(f.results(), (std::vector<int>{10, 20, 30}));
}

TEST(Batcher, AWithdrawalLetsTheFirstInLineIn) {
  BatchLimits l = limits(10);
  l.max_pending_items = 1;
  l.admission_timeout = 1h;
  Fixture f(l);
  asio::cancellation_signal gone;
  f.submit(1, 1, 0, gone.slot());
  f.submit(2);
  f.io.poll();
  EXPECT_EQ(f.batcher->stats().admission_waiters, 1u);
  gone.emit(asio::cancellation_type::terminal);
  f.io.poll();
  // 2 took the place 1 left, without waiting for a batch to finish.
  const BatchStats stats = f.batcher->stats();
  EXPECT_EQ(stats.admission_waiters, 0u);
  EXPECT_EQ(stats.open_items, 1u);
  f.batcher->shutdown();
  f.io.poll();
  EXPECT_EQ(f.results(), std::vector<int>{20});
}

TEST(Batcher, AnItemWaitsForCapacityUpToTheAdmissionTimeout) {
  BatchLimits l = limits(1);
  l.max_inflight_batches = 1;
  l.max_queued_batches = 0;
  l.max_pending_items = 2;  // also bounds the line of waiters
  l.admission_timeout = 1h;
  Fixture f(l);
  f.upstream.held = true;
  for (int i = 1; i <= 5; ++i) f.submit(i);
  f.io.poll();
  // 1 in flight, 2 in the open batch (due), 3 and 4 in line, 5 shed: the line is full.
  const BatchStats stats = f.batcher->stats();
  EXPECT_EQ(stats.inflight_batches, 1u);
  EXPECT_EQ(stats.open_items, 1u);
  EXPECT_EQ(stats.admission_waiters, 2u);
  EXPECT_EQ(f.failures(BatchError::shed), 1u);
  f.upstream.release();
  f.io.poll();  // the calls answer at once now: each waiter gets its turn, in order
  EXPECT_EQ(f.upstream.batches, (std::vector<std::vector<int>>{{1}, {2}, {3}, {4}}));
  EXPECT_EQ(f.results(), (std::vector<int>{10, 20, 30, 40}));
  EXPECT_EQ(f.recorder->sheds, 1u);
}

TEST(Batcher, AWaiterIsShedWhenTheAdmissionTimeoutPasses) {
  BatchLimits l = limits(1);
  l.max_inflight_batches = 1;
  l.max_queued_batches = 0;
  l.max_pending_items = 1;
  l.admission_timeout = 20ms;
  Fixture f(l);
  f.upstream.held = true;
  f.submit(1);
  f.submit(2);
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (f.outcomes.empty() && std::chrono::steady_clock::now() < give_up) f.io.run_one_for(1s);
  EXPECT_EQ(f.failures(BatchError::shed), 1u);
  EXPECT_EQ(f.batcher->stats().admission_waiters, 0u);
  f.upstream.release();
  f.io.poll();
  EXPECT_EQ(f.results(), std::vector<int>{10});
}

TEST(Batcher, AWithdrawnItemLeavesItsBatchBeforeItGoes) {
  Fixture f(limits(3));
  asio::cancellation_signal gone;
  f.submit(1);
  f.submit(2, 1, 0, gone.slot());
  f.io.poll();
  EXPECT_EQ(f.batcher->stats().open_items, 2u);
  gone.emit(asio::cancellation_type::terminal);
  f.io.poll();
  EXPECT_EQ(f.failures(BatchError::withdrawn), 1u);
  EXPECT_EQ(f.batcher->stats().open_items, 1u);
  f.submit(3);
  f.submit(4);
  f.io.poll();
  ASSERT_EQ(f.upstream.batches.size(), 1u);
  EXPECT_EQ(f.upstream.batches[0], (std::vector<int>{1, 3, 4}));
  EXPECT_EQ(f.recorder->withdrawals, 1u);
  EXPECT_EQ(f.batcher->stats().pending_items, 0u);
}

TEST(Batcher, AnItemWithdrawnAfterItsBatchLeftStillGetsItsResult) {
  Fixture f(limits(1));
  f.upstream.held = true;
  asio::cancellation_signal gone;
  f.submit(5, 1, 0, gone.slot());
  f.io.poll();
  gone.emit(asio::cancellation_type::terminal);
  f.upstream.release();
  f.io.poll();
  EXPECT_EQ(f.results(), std::vector<int>{50});
  EXPECT_EQ(f.recorder->withdrawals, 0u);
}

TEST(Batcher, ASubmitterWhoseFrameIsDestroyedLeavesItsBatch) {
  auto batcher = IntBatcher::create(limits(10), std::make_shared<EnvelopePolicy>("timer"));
  asio::io_context io;
  FakeUpstream upstream(io);
  auto handle = batcher->handle(io.get_executor(), upstream.call());
  {
    asio::io_context other;
    auto other_handle = batcher->handle(other.get_executor(), upstream.call());
    asio::co_spawn(io, handle.submit(1, 1), asio::detached);
    asio::co_spawn(other, other_handle.submit(2, 1), asio::detached);
    io.poll();
    other.poll();
    EXPECT_EQ(batcher->stats().open_items, 2u);
  }  // `other` and the frame waiting on it are gone
  EXPECT_EQ(batcher->stats().open_items, 1u);
  batcher->shutdown();
  io.poll();
  ASSERT_EQ(upstream.batches.size(), 1u);
  EXPECT_EQ(upstream.batches[0], std::vector<int>{1});
}

TEST(Batcher, TheImmediatePolicySendsEachItemAlone) {
  Fixture f(limits(100), std::make_shared<ImmediatePolicy>());
  for (int i = 0; i < 3; ++i) f.submit(i);
  f.io.poll();
  EXPECT_EQ(f.upstream.batches, (std::vector<std::vector<int>>{{0}, {1}, {2}}));
  EXPECT_EQ(f.recorder->flushes[0].first, FlushReason::immediate);
}

// Waits on arrivals; at a tick, flushes once the batch is `after` old. Counts its questions.
class AgePolicy final : public FlushPolicy {
 public:
  AgePolicy(std::chrono::nanoseconds after, std::chrono::nanoseconds tick)
      : after_(after), tick_(tick) {}
  std::optional<FlushReason> decide(const GroupState& group) const override {
    asked.fetch_add(1);
    if (group.age >= after_) return FlushReason::policy;
    return std::nullopt;
  }
  std::string_view name() const noexcept override { return "age"; }
  std::chrono::nanoseconds tick() const noexcept override { return tick_; }
  mutable std::atomic<int> asked{0};

 private:
  std::chrono::nanoseconds after_;
  std::chrono::nanoseconds tick_;
};

TEST(Batcher, APolicyWithATickIsAskedBetweenArrivalsAndCanSendTheBatch) {
  auto policy = std::make_shared<AgePolicy>(5ms, 1ms);
  Fixture f(limits(100, 1h), policy);
  const auto started = std::chrono::steady_clock::now();
  f.submit(7);
  f.io.run();  // ends when the batch has gone and been answered
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(f.results(), std::vector<int>{70});
  ASSERT_EQ(f.recorder->flushes.size(), 1u);
  EXPECT_EQ(f.recorder->flushes[0].first, FlushReason::policy);
  EXPECT_GE(took, 5ms);  // not before the policy said so; the hour-long max_wait did not fire
  // The arrival, then at least one tick (a loaded machine may run the ticks late, so how many
  // it took is not fixed).
  EXPECT_GE(policy->asked.load(), 2);
}

TEST(Batcher, MaxWaitStillWinsOverAPolicyThatKeepsWaiting) {
  auto policy = std::make_shared<AgePolicy>(1h, 1ms);
  Fixture f(limits(100, 10ms), policy);
  f.submit(7);
  f.io.run();
  ASSERT_EQ(f.recorder->flushes.size(), 1u);
  EXPECT_EQ(f.recorder->flushes[0].first, FlushReason::timeout);
  EXPECT_EQ(f.results(), std::vector<int>{70});
}

// Sees how each batch's call went.
struct CallRecorder final : BatchObserver {
  std::vector<FinishedBatch> finished;
  void call_finished(const FinishedBatch& batch) override { finished.push_back(batch); }
};

TEST(Batcher, EveryFinishedCallIsReportedWithItsReasonAndOutcome) {
  auto recorder = std::make_shared<CallRecorder>();
  asio::io_context io;
  FakeUpstream upstream{io};
  auto batcher = IntBatcher::create(limits(2), std::make_shared<EnvelopePolicy>("timer"), recorder);
  auto handle = batcher->handle(io.get_executor(), upstream.call());
  upstream.fail_next = BatchFailure{BatchError::call_failed, "boom", 504};
  for (int i = 0; i < 4; ++i) {
    asio::co_spawn(io, handle.submit(i, 3), asio::detached);
  }
  io.run();
  ASSERT_EQ(recorder->finished.size(), 2u);
  EXPECT_EQ(recorder->finished[0].reason, FlushReason::size_cap);
  EXPECT_EQ(recorder->finished[0].items, 2u);
  EXPECT_EQ(recorder->finished[0].bytes, 6u);
  EXPECT_FALSE(recorder->finished[0].ok);
  EXPECT_EQ(recorder->finished[0].failure_code, 504);
  EXPECT_TRUE(recorder->finished[1].ok);
  EXPECT_GE(recorder->finished[1].call_time, std::chrono::nanoseconds::zero());
}

TEST(Batcher, AfterShutdownEveryItemGoesAtOnce) {
  Fixture f(limits(100));
  f.batcher->shutdown();
  f.submit(1);
  f.io.poll();
  EXPECT_EQ(f.results(), std::vector<int>{10});
  EXPECT_EQ(f.recorder->flushes[0].first, FlushReason::shutdown);
}

// Items from two threads fill the same batches (DESIGN.md: batching is global across
// workers); run under TSan by `make check-tsan`.
TEST(Batcher, ItemsFromTwoThreadsShareBatches) {
  auto batcher = IntBatcher::create(limits(100, 50ms), std::make_shared<EnvelopePolicy>("size"));
  std::atomic<int> calls{0};
  std::atomic<int> answered{0};
  std::atomic<long> sum{0};
  auto call = [&calls](std::vector<int> items) -> asio::awaitable<BatchReply<int>> {
    ++calls;
    co_return items;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      asio::io_context io;
      auto handle = batcher->handle(io.get_executor(), call);
      for (int i = 0; i < 500; ++i) {
        asio::co_spawn(io, handle.submit(t * 1000 + i, 1),
                       [&](std::exception_ptr, ItemOutcome<int> outcome) {
                         if (const int* value = std::get_if<int>(&outcome)) sum += *value;
                         ++answered;
                       });
      }
      // Runs until this thread's items are answered; a batch opened here may be called here
      // for items of the other thread too.
      while (answered.load() < 1000 && io.run_for(10ms) >= 0) {
        if (io.stopped()) io.restart();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(answered.load(), 1000);
  long expected = 0;
  for (int i = 0; i < 500; ++i) expected += i + (1000 + i);
  EXPECT_EQ(sum.load(), expected);
  EXPECT_LE(calls.load(), 12);  // ~10 full batches, plus at most a partial one per thread
  EXPECT_EQ(batcher->stats().pending_items, 0u);
}

TEST(BatchLimits, NonsenseIsRefusedAtSetUp) {
  BatchLimits l;
  l.max_batch_size = 0;
  EXPECT_THROW((void)IntBatcher::create(l, std::make_shared<ImmediatePolicy>()),
               std::invalid_argument);
  EXPECT_THROW((void)IntBatcher::create(BatchLimits{}, nullptr), std::invalid_argument);
}

// A result that takes its batch's departure (TakesLeftAt), on a manual clock.
struct Stamped {
  int value = 0;
  std::chrono::steady_clock::time_point left_at{};
};
using StampedBatcher = Batcher<int, Stamped>;

struct StampedRun {
  explicit StampedRun(BatchLimits limits)
      : batcher(StampedBatcher::create(limits, std::make_shared<EnvelopePolicy>("timer"), nullptr,
                                       clock.function())) {}
  test::ManualClock clock;
  std::shared_ptr<StampedBatcher> batcher;
  std::optional<std::chrono::steady_clock::time_point> call_started;
  std::vector<Stamped> results;

  StampedBatcher::Call call() {
    return [this](std::vector<int> items) -> asio::awaitable<BatchReply<Stamped>> {
      call_started = clock.now();
      std::vector<Stamped> out;
      for (int item : items) out.push_back(Stamped{item * 10, {}});
      co_return out;
    };
  }
  void submit(asio::io_context& io, StampedBatcher::Handle& handle, int item) {
    asio::co_spawn(io, handle.submit(item, 1), [this](std::exception_ptr e, auto outcome) {
      if (e) std::rethrow_exception(e);
      if (auto* result = std::get_if<Stamped>(&outcome)) results.push_back(*result);
    });
  }
};

void poll_both(asio::io_context& a, asio::io_context& b) {
  while (a.poll() + b.poll() > 0) {
    a.restart();
    b.restart();
  }
}

TEST(Batcher, AResultIsToldWhenItsBatchLeftNotWhenItsCallStarted) {
  StampedRun run(limits(2));
  asio::io_context opener;  // the first item's worker: the batch's call runs there
  asio::io_context other;
  auto first = run.batcher->handle(opener.get_executor(), run.call());
  auto second = run.batcher->handle(other.get_executor(), run.call());
  run.submit(opener, first, 1);
  opener.poll();
  run.clock.advance(4ms);
  const auto full_at = run.clock.now();
  run.submit(other, second, 2);  // full: the batch leaves now, its call waits for the opener
  other.poll();
  other.restart();
  ASSERT_FALSE(run.call_started) << "the opener's worker has not run yet";
  run.clock.advance(3ms);  // the opener's worker was busy elsewhere
  poll_both(opener, other);
  ASSERT_EQ(run.call_started, full_at + 3ms);
  ASSERT_EQ(run.results.size(), 2u);
  for (const Stamped& result : run.results) {
    EXPECT_EQ(result.left_at, full_at) << "the 3 ms before the call started are not the wait";
  }
  run.batcher->close();
}

TEST(Batcher, ALateTimerDoesNotLengthenTheWaitButWaitingForACallSlotDoes) {
  BatchLimits l = limits(10, 1ms);
  l.max_inflight_batches = 1;
  StampedRun run(l);
  asio::io_context io;
  asio::steady_timer gate(io, asio::steady_timer::time_point::max());
  bool held = true;
  auto handle = run.batcher->handle(
      io.get_executor(), [&](std::vector<int> items) -> asio::awaitable<BatchReply<Stamped>> {
        while (held) {
          boost::system::error_code ec;
          co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        std::vector<Stamped> out;
        for (int item : items) out.push_back(Stamped{item, {}});
        co_return out;
      });
  const auto opened = run.clock.now();
  run.submit(io, handle, 1);
  io.poll();                // parked: the batch opened
  run.clock.advance(25ms);  // its 1 ms timer fires 24 ms late, on the clock the batcher reads
  while (run.batcher->stats().inflight_batches == 0) io.run_one();
  // A second batch times out while the first holds the only call slot.
  const auto second_opened = run.clock.now();
  run.submit(io, handle, 2);
  io.poll();
  run.clock.advance(5ms);
  while (run.batcher->stats().queued_batches == 0) io.run_one();
  run.clock.advance(40ms);
  const auto slot_free_at = run.clock.now();
  held = false;
  gate.cancel();
  io.run();
  ASSERT_EQ(run.results.size(), 2u);
  std::sort(run.results.begin(), run.results.end(),
            [](const Stamped& a, const Stamped& b) { return a.value < b.value; });
  EXPECT_EQ(run.results[0].left_at, opened + 1ms) << "due at max_wait; the lateness is levee's";
  EXPECT_EQ(run.results[1].left_at, slot_free_at) << "its wait for a call slot is its wait";
  EXPECT_GT(slot_free_at, second_opened + 1ms);
}

}  // namespace
}  // namespace levee
