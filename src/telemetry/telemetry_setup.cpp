#include "telemetry/telemetry_setup.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "telemetry/jsonl_sink.hpp"
#include "telemetry/kafka_sink.hpp"

namespace levee::telemetry {

namespace {

template <typename Duration>
std::chrono::milliseconds milliseconds(Duration duration) {
  return std::chrono::ceil<std::chrono::milliseconds>(duration);
}

// JsonlSink only counts and logs a file it cannot open (it retries at each write), which is
// right at run time; at start-up a wrong path is a mistake the operator should see at once.
void check_appendable(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "ab");
  if (file == nullptr) {
    const std::error_code error(errno, std::generic_category());
    throw std::runtime_error("telemetry.path: cannot open \"" + path +
                             "\" for appending: " + error.message());
  }
  std::fclose(file);
}

std::unique_ptr<Sink> make_sink(const config::TelemetryConfig& config) {
  switch (config.sink) {
    case config::TelemetrySink::none:
      return nullptr;
    case config::TelemetrySink::jsonl:
      check_appendable(config.path);
      return std::make_unique<JsonlSink>(
          JsonlSinkOptions{config.path, config.max_file_bytes, config.keep_files});
    case config::TelemetrySink::kafka:
      try {
        KafkaSinkOptions options;
        options.brokers = config.brokers;
        options.topic = config.topic;
        return std::make_unique<KafkaSink>(std::move(options));
      } catch (const std::runtime_error& e) {
        // KafkaSink names the librdkafka property; say which [telemetry] keys feed it.
        throw std::runtime_error(std::string(e.what()) + " (from telemetry.brokers \"" +
                                 config.brokers + "\", telemetry.topic \"" + config.topic + "\")");
      }
  }
  throw std::runtime_error("telemetry.sink: unknown sink");
}

}  // namespace

std::unique_ptr<FlushTelemetry> make_flush_telemetry(const config::TelemetryConfig& config) {
  std::unique_ptr<Sink> sink = make_sink(config);
  if (sink == nullptr) return std::make_unique<FlushTelemetry>();
  TelemetryOptions options;
  options.queue_capacity = static_cast<std::size_t>(config.queue_capacity);
  options.poll_interval = milliseconds(config.poll_interval);
  options.drain_timeout = milliseconds(config.drain_timeout);
  try {
    return std::make_unique<FlushTelemetry>(std::move(sink), options);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("telemetry.queue_capacity: " + std::string(e.what()));
  }
}

}  // namespace levee::telemetry
