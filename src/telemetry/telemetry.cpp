#include "telemetry/telemetry.hpp"

#include <utility>

namespace levee::telemetry {

FlushTelemetry::FlushTelemetry(std::unique_ptr<Sink> sink, TelemetryOptions options)
    : options_(options), sink_(std::move(sink)) {
  if (sink_ == nullptr) return;
  queue_ = std::make_unique<EventQueue>(options_.queue_capacity);
  thread_ = std::thread([this] { run(); });
}

FlushTelemetry::~FlushTelemetry() { stop(); }

void FlushTelemetry::stop() {
  if (!thread_.joinable()) return;
  accepting_.store(false, std::memory_order_relaxed);
  const auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  drain_deadline_ns_.store(deadline.time_since_epoch().count(), std::memory_order_relaxed);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_requested_.notify_one();
  thread_.join();
}

void FlushTelemetry::run() {
  for (;;) {
    drain();
    sink_->flush();
    std::unique_lock lock(mutex_);
    if (stop_requested_.wait_for(lock, options_.poll_interval, [this] { return stopping_; })) {
      break;
    }
  }
  // No record() may race with stop(), so what is queued now is all there will be.
  drain();
  while (queue_->try_pop()) dropped_.fetch_add(1, std::memory_order_relaxed);
  sink_->flush();
}

void FlushTelemetry::drain() {
  while (auto event = queue_->try_pop()) {
    if (sink_->write(*event)) {
      written_.fetch_add(1, std::memory_order_relaxed);
    } else {
      sink_errors_.fetch_add(1, std::memory_order_relaxed);
    }
    // The deadline is read per event: stop() may set it while a long drain is under way.
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    if (now >= drain_deadline_ns_.load(std::memory_order_relaxed)) return;
  }
}

}  // namespace levee::telemetry
