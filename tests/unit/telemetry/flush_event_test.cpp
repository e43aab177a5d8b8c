#include "telemetry/flush_event.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <limits>
#include <string>

namespace levee::telemetry {
namespace {

TEST(TelemetryFlushEvent, ToJsonWritesEveryFieldOnOneLine) {
  FlushEvent event;
  event.route = "items \"v2\"\n";
  event.reason = FlushReason::policy;
  event.size = 12;
  event.age = std::chrono::microseconds(1500);
  event.upstream_latency = std::chrono::milliseconds(7);
  event.status = 502;
  event.observation = {0.25f, 0.5f, 0.1f, 1.0f};
  event.action = k_action_flush;
  event.policy = "learned";
  event.timestamp = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));

  const std::string json = to_json(event);
  EXPECT_EQ(json.find('\n'), std::string::npos);

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << json;
  EXPECT_EQ(root["ts_unix_ns"].get_int64().value(), 1'700'000'000'000'000'000);
  EXPECT_EQ(root["route"].get_string().value(), "items \"v2\"\n");
  EXPECT_EQ(root["reason"].get_string().value(), "policy");
  EXPECT_EQ(root["size"].get_int64().value(), 12);
  EXPECT_EQ(root["age_ns"].get_int64().value(), 1'500'000);
  EXPECT_EQ(root["upstream_latency_ns"].get_int64().value(), 7'000'000);
  EXPECT_EQ(root["status"].get_int64().value(), 502);
  simdjson::dom::array observation;
  ASSERT_EQ(root["observation"].get_array().get(observation), simdjson::SUCCESS);
  ASSERT_EQ(observation.size(), 4u);
  std::size_t i = 0;
  for (const auto value : observation) {
    EXPECT_EQ(static_cast<float>(value.get_double().value()), event.observation[i++]);
  }
  EXPECT_EQ(root["action"].get_int64().value(), 1);
  EXPECT_EQ(root["policy"].get_string().value(), "learned");
}

TEST(TelemetryFlushEvent, NonFiniteObservationIsNull) {
  FlushEvent event;
  event.observation = {std::numeric_limits<float>::quiet_NaN(),
                       std::numeric_limits<float>::infinity(), 0.0f, 1.0f};
  const std::string json = to_json(event);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << json;
  EXPECT_TRUE(root["observation"].at(0).is_null());
  EXPECT_TRUE(root["observation"].at(1).is_null());
  EXPECT_EQ(root["action"].get_int64().value(), k_action_none);
}

}  // namespace
}  // namespace levee::telemetry
