#include "telemetry/kafka_sink.hpp"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <array>
#include <stdexcept>

namespace levee::telemetry {

struct KafkaSinkCallbacks {
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    auto* sink = static_cast<KafkaSink*>(opaque);
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      sink->delivered_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    sink->delivery_failures_.fetch_add(1, std::memory_order_relaxed);
    sink->log_throttled("delivery failed", rd_kafka_err2str(message->err));
  }

  static void on_error(rd_kafka_t*, int error, const char* reason, void* opaque) {
    auto* sink = static_cast<KafkaSink*>(opaque);
    sink->errors_.fetch_add(1, std::memory_order_relaxed);
    sink->log_throttled(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(error)), reason);
  }

  // May run on librdkafka's threads; log_throttled() is thread-safe.
  static void on_log(const rd_kafka_t* producer, int level, const char* facility,
                     const char* text) {
    auto* sink = static_cast<KafkaSink*>(rd_kafka_opaque(producer));
    if (sink == nullptr || level > 4) return;  // syslog levels: keep warning and worse
    sink->log_throttled(facility, text);
  }
};

namespace {

void set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  std::array<char, 512> error{};
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error.data(), error.size()) !=
      RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error("telemetry kafka sink: " + key + ": " + error.data());
  }
}

}  // namespace

KafkaSink::KafkaSink(KafkaSinkOptions options) : options_(std::move(options)) {
  if (options_.topic.empty()) throw std::runtime_error("telemetry kafka sink: empty topic");
  if (options_.max_queued_messages == 0) {
    throw std::runtime_error("telemetry kafka sink: max_queued_messages must be positive");
  }
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", options_.brokers);
  set(conf, "client.id", "levee");
  set(conf, "queue.buffering.max.messages", std::to_string(options_.max_queued_messages));
  for (const auto& [key, value] : options_.settings) set(conf, key, value);
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSinkCallbacks::on_delivery);
  rd_kafka_conf_set_error_cb(conf, &KafkaSinkCallbacks::on_error);
  rd_kafka_conf_set_log_cb(conf, &KafkaSinkCallbacks::on_log);

  std::array<char, 512> error{};
  // On success rd_kafka_new() owns conf; on failure it is still ours.
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error.data(), error.size());
  if (producer_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("telemetry kafka sink: ") + error.data());
  }
}

KafkaSink::~KafkaSink() {
  const auto timeout = static_cast<int>(options_.close_timeout.count());
  if (rd_kafka_flush(producer_, timeout) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Whatever is still queued fails its delivery report with __PURGE_QUEUE/_INFLIGHT.
    rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(producer_, 0);
  }
  rd_kafka_destroy(producer_);
}

bool KafkaSink::write(const FlushEvent& event) noexcept {
  try {
    value_ = to_json(event);
  } catch (...) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_, RD_KAFKA_V_TOPIC(options_.topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(event.route.data(), event.route.size()),
      RD_KAFKA_V_VALUE(value_.data(), value_.size()), RD_KAFKA_V_END);
  rd_kafka_poll(producer_, 0);  // serve delivery reports, without waiting
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    produced_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
    dropped_full_.fetch_add(1, std::memory_order_relaxed);
  } else {
    errors_.fetch_add(1, std::memory_order_relaxed);
    log_throttled("cannot produce", rd_kafka_err2str(err));
  }
  return false;
}

void KafkaSink::flush() noexcept { rd_kafka_poll(producer_, 0); }

void KafkaSink::log_throttled(std::string_view what, std::string_view detail) noexcept {
  const auto admitted = log_throttle_.admit();
  if (!admitted) return;
  try {
    spdlog::warn("telemetry: kafka sink ({}, topic {}): {}: {} ({} similar messages suppressed)",
                 options_.brokers, options_.topic, what, detail, *admitted);
  } catch (...) {
    // Logging is best effort; the counters have the event.
  }
}

}  // namespace levee::telemetry
