#pragma once
// An owned librdkafka client handle, made from key/value settings: what the Kafka capture tool
// (bench/tools/kafka_mock_capture.cpp) and the Kafka tests build their producers, consumers and
// mock-cluster hosts with. Header-only, so the tool needs nothing of levee but this file.
//
// Threading: a plain factory; the handle is librdkafka's (thread-safe as librdkafka says).

#include <librdkafka/rdkafka.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace levee::telemetry {

struct KafkaDeleter {
  void operator()(rd_kafka_t* handle) const { rd_kafka_destroy(handle); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

// Throws std::runtime_error naming the setting librdkafka refused, or its reason to refuse
// the handle.
inline KafkaHandle make_kafka_handle(
    rd_kafka_type_t type, const std::vector<std::pair<std::string, std::string>>& settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::array<char, 512> error{};
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error.data(), error.size()) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(key + ": " + error.data());
    }
  }
  // On success rd_kafka_new() owns conf; on failure it is still ours.
  rd_kafka_t* handle = rd_kafka_new(type, conf, error.data(), error.size());
  if (handle == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(error.data());
  }
  return KafkaHandle(handle);
}

}  // namespace levee::telemetry
