#pragma once
// Flush events to a Kafka topic through a librdkafka producer: each event is one message, its
// value the to_json() line and its key the route (so one route's events stay in order on one
// partition).
//
// Never blocks the caller: produce() only enqueues into librdkafka's local queue, bounded by
// max_queued_messages (queue.buffering.max.messages); when it is full the event is dropped and
// counted in dropped_full(). librdkafka's own threads do the network I/O; delivery reports, and
// error and log callbacks, are served by rd_kafka_poll(…, 0) inside write() and flush(), that
// is on the drain thread (log callbacks may also come from librdkafka's threads).
//
// Destruction waits up to close_timeout for queued messages to be delivered, then purges the
// rest (counted in delivery_failures()).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/log_throttle.hpp"
#include "telemetry/sink.hpp"

struct rd_kafka_s;

namespace levee::telemetry {

struct KafkaSinkOptions {
  std::string brokers;  // bootstrap.servers, "host:port,host:port"
  std::string topic;
  std::uint32_t max_queued_messages = 100'000;  // queue.buffering.max.messages
  std::chrono::milliseconds close_timeout{2000};
  // Further librdkafka properties, applied last (e.g. {"linger.ms", "50"}).
  std::vector<std::pair<std::string, std::string>> settings;
};

class KafkaSink final : public Sink {
 public:
  // Throws std::runtime_error naming the property librdkafka refused (start-up only).
  explicit KafkaSink(KafkaSinkOptions options);
  ~KafkaSink() override;

  [[nodiscard]] bool write(const FlushEvent& event) noexcept override;
  void flush() noexcept override;
  [[nodiscard]] std::string_view name() const noexcept override { return "kafka"; }

  // Messages librdkafka accepted into its local queue.
  [[nodiscard]] std::uint64_t produced() const noexcept { return load(produced_); }
  [[nodiscard]] std::uint64_t delivered() const noexcept { return load(delivered_); }
  [[nodiscard]] std::uint64_t delivery_failures() const noexcept {
    return load(delivery_failures_);
  }
  // Events refused because the local queue was full.
  [[nodiscard]] std::uint64_t dropped_full() const noexcept { return load(dropped_full_); }
  // Other produce errors and client errors reported by librdkafka (brokers down, …).
  [[nodiscard]] std::uint64_t errors() const noexcept { return load(errors_); }

 private:
  static std::uint64_t load(const std::atomic<std::uint64_t>& counter) noexcept {
    return counter.load(std::memory_order_relaxed);
  }
  // librdkafka's C callbacks (kafka_sink.cpp), registered with this sink as their opaque.
  friend struct KafkaSinkCallbacks;

  void log_throttled(std::string_view what, std::string_view detail) noexcept;

  const KafkaSinkOptions options_;
  rd_kafka_s* producer_ = nullptr;
  std::string value_;  // reused buffer; RD_KAFKA_MSG_F_COPY copies it
  core::LogThrottle log_throttle_{1};
  std::atomic<std::uint64_t> produced_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> delivery_failures_{0};
  std::atomic<std::uint64_t> dropped_full_{0};
  std::atomic<std::uint64_t> errors_{0};
};

}  // namespace levee::telemetry
