#include "telemetry/telemetry.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace levee::telemetry {
namespace {

using namespace std::chrono_literals;

// Shared with the test, which keeps it alive after FlushTelemetry has destroyed the sink.
struct SinkRecord {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::uint32_t> written;  // FlushEvent::size of each write
  int flushes = 0;
  bool entered = false;  // a write has begun
  bool released = true;  // writes may return
  bool fail = false;     // writes report failure
};

// Writes into a SinkRecord; blocks in write() while `released` is false, on purpose.
class RecordingSink final : public Sink {
 public:
  explicit RecordingSink(std::shared_ptr<SinkRecord> record) : record_(std::move(record)) {}

  bool write(const FlushEvent& event) noexcept override {
    std::unique_lock lock(record_->mutex);
    record_->entered = true;
    record_->changed.notify_all();
    record_->changed.wait(lock, [this] { return record_->released; });
    record_->written.push_back(event.size);
    return !record_->fail;
  }
  void flush() noexcept override {
    std::lock_guard lock(record_->mutex);
    ++record_->flushes;
  }
  std::string_view name() const noexcept override { return "recording"; }

 private:
  std::shared_ptr<SinkRecord> record_;
};

// Slows every write down, without blocking for good.
class SlowSink final : public Sink {
 public:
  bool write(const FlushEvent&) noexcept override {
    std::this_thread::sleep_for(20ms);
    return true;
  }
  void flush() noexcept override {}
  std::string_view name() const noexcept override { return "slow"; }
};

FlushEvent event_of_size(std::uint32_t size) {
  FlushEvent event;
  event.route = "items";
  event.size = size;
  return event;
}

TEST(FlushTelemetry, NoneRecordsNothing) {
  FlushTelemetry telemetry;
  EXPECT_FALSE(telemetry.enabled());
  EXPECT_EQ(telemetry.sink(), nullptr);
  telemetry.record(event_of_size(1));
  EXPECT_EQ(telemetry.recorded(), 0u);
  EXPECT_EQ(telemetry.dropped(), 0u);

  FlushTelemetry with_null_sink(nullptr, TelemetryOptions{});
  EXPECT_FALSE(with_null_sink.enabled());
}

TEST(FlushTelemetry, WritesEveryEventInOrderAndDrainsOnDestruction) {
  auto record = std::make_shared<SinkRecord>();
  {
    FlushTelemetry telemetry(std::make_unique<RecordingSink>(record),
                             {.queue_capacity = 1024, .poll_interval = 1ms, .drain_timeout = 5s});
    EXPECT_TRUE(telemetry.enabled());
    for (std::uint32_t i = 0; i < 500; ++i) telemetry.record(event_of_size(i));
    EXPECT_EQ(telemetry.recorded(), 500u);
  }
  ASSERT_EQ(record->written.size(), 500u);
  for (std::uint32_t i = 0; i < 500; ++i) EXPECT_EQ(record->written[i], i);
  EXPECT_GE(record->flushes, 1);
}

TEST(FlushTelemetry, FullQueueDropsAndCountsWithoutBlocking) {
  auto record = std::make_shared<SinkRecord>();
  record->released = false;
  auto telemetry = std::make_unique<FlushTelemetry>(
      std::make_unique<RecordingSink>(record),
      TelemetryOptions{.queue_capacity = 4, .poll_interval = 1ms, .drain_timeout = 5s});

  // The drain thread takes the first event and blocks inside the sink with it.
  telemetry->record(event_of_size(0));
  {
    std::unique_lock lock(record->mutex);
    ASSERT_TRUE(record->changed.wait_for(lock, 10s, [&] { return record->entered; }));
  }
  const auto release_sink = [&record] {
    {
      std::lock_guard lock(record->mutex);
      record->released = true;
    }
    record->changed.notify_all();
  };
  // Now the ring (4 cells) fills and the rest is dropped, while the sink still holds the drain
  // thread: a record() that waited for room could not return before the release below. The
  // 10 s only stop a hung test; they bound nothing that works.
  std::promise<void> produced;
  std::future<void> producer_done = produced.get_future();
  std::thread producer([&telemetry, &produced] {
    for (std::uint32_t i = 1; i <= 10; ++i) telemetry->record(event_of_size(i));
    produced.set_value();
  });
  const bool returned_while_blocked = producer_done.wait_for(10s) == std::future_status::ready;
  if (!returned_while_blocked) release_sink();
  producer.join();
  ASSERT_TRUE(returned_while_blocked) << "record() waited for room in a full queue";
  EXPECT_EQ(telemetry->recorded(), 11u);
  EXPECT_EQ(telemetry->dropped(), 6u);
  EXPECT_EQ(telemetry->written(), 0u);

  release_sink();
  telemetry->stop();  // drains the 4 queued events
  EXPECT_EQ(telemetry->written(), 5u);
  EXPECT_EQ(telemetry->dropped(), 6u);
  EXPECT_EQ(telemetry->sink_errors(), 0u);
  ASSERT_EQ(record->written, (std::vector<std::uint32_t>{0, 1, 2, 3, 4}));

  telemetry->record(event_of_size(11));  // after stop(): dropped, not lost
  EXPECT_EQ(telemetry->recorded(), 12u);
  EXPECT_EQ(telemetry->dropped(), 7u);
}

TEST(FlushTelemetry, CountersAddUpAfterStopWithManyProducers) {
  auto record = std::make_shared<SinkRecord>();
  record->fail = true;
  FlushTelemetry telemetry(std::make_unique<RecordingSink>(record),
                           {.queue_capacity = 8, .poll_interval = 1ms, .drain_timeout = 5s});
  std::vector<std::thread> producers;
  for (int p = 0; p < 3; ++p) {
    producers.emplace_back([&telemetry] {
      for (std::uint32_t i = 0; i < 2000; ++i) telemetry.record(event_of_size(i));
    });
  }
  for (auto& producer : producers) producer.join();
  telemetry.stop();
  EXPECT_EQ(telemetry.recorded(), 6000u);
  EXPECT_EQ(telemetry.written(), 0u);
  EXPECT_EQ(telemetry.recorded(),
            telemetry.dropped() + telemetry.written() + telemetry.sink_errors());
  std::lock_guard lock(record->mutex);
  EXPECT_EQ(telemetry.sink_errors(), record->written.size());
}

TEST(FlushTelemetry, ShutdownDrainIsBounded) {
  FlushTelemetry telemetry(
      std::make_unique<SlowSink>(),
      TelemetryOptions{.queue_capacity = 256, .poll_interval = 1ms, .drain_timeout = 100ms});
  for (std::uint32_t i = 0; i < 200; ++i) telemetry.record(event_of_size(i));  // ~4 s of work
  EXPECT_EQ(telemetry.dropped(), 0u);
  // Each write takes 20 ms at least, so a drain that honoured drain_timeout leaves events
  // behind, dropped and counted; one that wrote them all ignored it. No wall-clock bound.
  telemetry.stop();
  EXPECT_GT(telemetry.dropped(), 0u);
  EXPECT_EQ(telemetry.written() + telemetry.dropped(), 200u);
}

}  // namespace
}  // namespace levee::telemetry
