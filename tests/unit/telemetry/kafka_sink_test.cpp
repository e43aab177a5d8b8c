#include "telemetry/kafka_sink.hpp"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <simdjson.h>

#include <array>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "telemetry/kafka_handle.hpp"

namespace levee::telemetry {
namespace {

using namespace std::chrono_literals;

struct MockClusterDeleter {
  void operator()(rd_kafka_mock_cluster_t* cluster) const {
    rd_kafka_mock_cluster_destroy(cluster);
  }
};
using MockCluster = std::unique_ptr<rd_kafka_mock_cluster_t, MockClusterDeleter>;

// librdkafka's in-process mock cluster (rdkafka_mock.h): real Kafka protocol on loopback
// ports, no broker needed. It lives on a handle of its own, which the sink and the consumer
// under test reach through its bootstrap servers.
class KafkaSinkTest : public ::testing::Test {
 protected:
  static constexpr const char* k_topic = "levee.flush";

  void SetUp() override {
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
    // librdkafka starts its threads with C11 thrd_create(), which ThreadSanitizer does not
    // intercept: the first instrumented call on such a thread crashes inside the runtime.
    GTEST_SKIP() << "librdkafka's threads are invisible to ThreadSanitizer";
#endif
#endif
    host_ = make_kafka_handle(RD_KAFKA_PRODUCER, {{"log_level", "3"}});
    cluster_.reset(rd_kafka_mock_cluster_new(host_.get(), 1));
    ASSERT_NE(cluster_, nullptr);
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_.get());
    ASSERT_EQ(bootstraps_.rfind("127.0.0.1:", 0), 0u) << bootstraps_;
    // One partition, so that the consumer sees the events in the order they were produced.
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_.get(), k_topic, 1, 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  void TearDown() override {
    cluster_.reset();
    host_.reset();
  }

  // Everything on partition 0 of the topic from the beginning, until `count` messages or the
  // deadline.
  std::vector<std::pair<std::string, std::string>> consume(std::size_t count) {
    KafkaHandle consumer =
        make_kafka_handle(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstraps_},
                                              {"group.id", "levee-telemetry-test"},
                                              {"enable.auto.commit", "false"},
                                              {"auto.offset.reset", "earliest"},
                                              {"log_level", "3"}});
    rd_kafka_poll_set_consumer(consumer.get());
    rd_kafka_topic_partition_list_t* partitions = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(partitions, k_topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    const rd_kafka_resp_err_t assigned = rd_kafka_assign(consumer.get(), partitions);
    rd_kafka_topic_partition_list_destroy(partitions);
    EXPECT_EQ(assigned, RD_KAFKA_RESP_ERR_NO_ERROR);

    std::vector<std::pair<std::string, std::string>> messages;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (messages.size() < count && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer.get(), 100);
      if (message == nullptr) continue;
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        messages.emplace_back(
            std::string(static_cast<const char*>(message->key), message->key_len),
            std::string(static_cast<const char*>(message->payload), message->len));
      }
      rd_kafka_message_destroy(message);
    }
    rd_kafka_consumer_close(consumer.get());
    return messages;
  }

  KafkaHandle host_;
  MockCluster cluster_;
  std::string bootstraps_;
};

FlushEvent sample(std::uint32_t n) {
  FlushEvent event;
  event.route = n % 2 == 0 ? "items" : "process";
  event.reason = FlushReason::timeout;
  event.size = n;
  event.age = std::chrono::microseconds(50 * n);
  event.upstream_latency = std::chrono::milliseconds(3);
  event.status = 200;
  event.observation = {0.5f, 0.25f, 0.125f, 1.0f};
  event.action = k_action_wait;
  event.policy = "timer";
  event.timestamp = std::chrono::system_clock::now();
  return event;
}

TEST_F(KafkaSinkTest, ProducedEventsAreConsumedBackUnchanged) {
  constexpr std::uint32_t k_events = 100;
  std::vector<FlushEvent> events;
  {
    KafkaSink sink({.brokers = bootstraps_,
                    .topic = k_topic,
                    .max_queued_messages = 1000,
                    .close_timeout = 5s,
                    .settings = {{"linger.ms", "5"}, {"log_level", "3"}}});
    for (std::uint32_t n = 0; n < k_events; ++n) {
      events.push_back(sample(n));
      ASSERT_TRUE(sink.write(events.back()));
    }
    EXPECT_EQ(sink.produced(), k_events);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (sink.delivered() < k_events && std::chrono::steady_clock::now() < deadline) {
      sink.flush();
      std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(sink.delivered(), k_events);
    EXPECT_EQ(sink.delivery_failures(), 0u);
    EXPECT_EQ(sink.dropped_full(), 0u);
  }

  const auto messages = consume(k_events);
  ASSERT_EQ(messages.size(), k_events);
  simdjson::dom::parser parser;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& [key, value] = messages[i];
    EXPECT_EQ(key, events[i].route);
    EXPECT_EQ(value, to_json(events[i]));
    simdjson::dom::element root;
    ASSERT_EQ(parser.parse(value).get(root), simdjson::SUCCESS) << value;
    EXPECT_EQ(root["size"].get_int64().value(), events[i].size);
    EXPECT_EQ(root["route"].get_string().value(), events[i].route);
  }
}

TEST_F(KafkaSinkTest, FullLocalQueueDropsAndCountsWithoutBlocking) {
  // A loopback port nobody listens on: nothing is ever delivered, so the local queue fills.
  KafkaSink sink({.brokers = "127.0.0.1:1",
                  .topic = k_topic,
                  .max_queued_messages = 5,
                  .close_timeout = 100ms,
                  .settings = {{"log_level", "0"}}});
  // Nothing is ever delivered, so a write() that waited for room would never return: the
  // loop ending with 15 refusals is what "without blocking" means, with no wall-clock bound.
  int accepted = 0;
  for (std::uint32_t n = 0; n < 20; ++n) accepted += sink.write(sample(n)) ? 1 : 0;
  EXPECT_EQ(accepted, 5);
  EXPECT_EQ(sink.produced(), 5u);
  EXPECT_EQ(sink.dropped_full(), 15u);
}

TEST(KafkaSink, RefusesUnknownSettingsAtStartUp) {
  EXPECT_THROW(KafkaSink({.brokers = "127.0.0.1:1",
                          .topic = "t",
                          .max_queued_messages = 10,
                          .close_timeout = 100ms,
                          .settings = {{"no.such.property", "1"}}}),
               std::runtime_error);
  EXPECT_THROW(KafkaSink({.brokers = "127.0.0.1:1",
                          .topic = "",
                          .max_queued_messages = 10,
                          .close_timeout = 100ms,
                          .settings = {}}),
               std::runtime_error);
}

}  // namespace
}  // namespace levee::telemetry
