#pragma once
// Flush telemetry (DESIGN.md "Observability"): the request path records one FlushEvent per
// flush; a background thread drains them into a Sink (JSONL file, Kafka). Between the two sits
// a bounded lock-free queue, so a slow or broken sink costs events, never request latency.
//
// Threading: record() and the counters are safe from any thread. The drain thread is the only
// caller of the sink. It wakes every `poll_interval` (no per-event wake-up on the request path)
// and drains everything queued.
// Ownership and shutdown: FlushTelemetry owns the sink and the thread. stop() (or the
// destructor) must not race with record(); it writes what is still queued, for at most
// `drain_timeout` (events left then count as dropped), flushes the sink and joins the thread.
// Without a sink (`none`) there is no queue and no thread, and record() returns at once.
//
// Counters: after stop(), recorded() == written() + sink_errors() + dropped().

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "telemetry/event_queue.hpp"
#include "telemetry/flush_event.hpp"
#include "telemetry/sink.hpp"

namespace levee::telemetry {

struct TelemetryOptions {
  std::size_t queue_capacity = 8192;  // rounded up to a power of two
  std::chrono::milliseconds poll_interval{10};
  std::chrono::milliseconds drain_timeout{2000};
};

class FlushTelemetry {
 public:
  // `none`: records nothing.
  FlushTelemetry() = default;
  // Starts the drain thread. A null sink is `none`. Throws std::invalid_argument on a bad
  // queue_capacity (start-up only).
  FlushTelemetry(std::unique_ptr<Sink> sink, TelemetryOptions options);
  FlushTelemetry(const FlushTelemetry&) = delete;
  FlushTelemetry& operator=(const FlushTelemetry&) = delete;
  ~FlushTelemetry();  // stop()s

  // Drains and joins as described above; idempotent. Counters stay readable afterwards, and a
  // record() after it counts the event as dropped.
  void stop();

  // Whether events are kept at all: callers may skip building an event when false.
  [[nodiscard]] bool enabled() const noexcept { return queue_ != nullptr; }

  // Request path, any thread: never blocks, never allocates, never throws. A full queue drops
  // the event and counts it.
  void record(FlushEvent&& event) noexcept {
    if (queue_ == nullptr) return;
    recorded_.fetch_add(1, std::memory_order_relaxed);
    if (!accepting_.load(std::memory_order_relaxed) || !queue_->try_push(std::move(event))) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  [[nodiscard]] std::uint64_t recorded() const noexcept { return load(recorded_); }
  [[nodiscard]] std::uint64_t dropped() const noexcept { return load(dropped_); }
  [[nodiscard]] std::uint64_t written() const noexcept { return load(written_); }
  [[nodiscard]] std::uint64_t sink_errors() const noexcept { return load(sink_errors_); }

  // The sink, for its own counters (/metrics); null for `none`.
  [[nodiscard]] const Sink* sink() const noexcept { return sink_.get(); }

 private:
  static std::uint64_t load(const std::atomic<std::uint64_t>& counter) noexcept {
    return counter.load(std::memory_order_relaxed);
  }
  void run();
  // Writes what is queued, until the queue is empty or stop()'s drain deadline has passed.
  void drain();

  TelemetryOptions options_;
  std::unique_ptr<Sink> sink_;
  std::unique_ptr<EventQueue> queue_;
  std::atomic<bool> accepting_{true};  // false once stop() has begun
  // steady_clock nanoseconds at which the drain gives up; the maximum until stop().
  std::atomic<std::int64_t> drain_deadline_ns_{INT64_MAX};
  std::atomic<std::uint64_t> recorded_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> sink_errors_{0};
  std::mutex mutex_;
  std::condition_variable stop_requested_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace levee::telemetry
