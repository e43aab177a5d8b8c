#include "telemetry/flush_event.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <limits>
#include <string>
#include <vector>

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
  event.observation = {0.25f, 0.5f, 0.1f, 1.0f, 0.4f, 0.2f, 1.0f, 0.75f};
  event.observation_version = 2;
  event.action = k_action_flush;
  event.policy = "learned";
  event.timestamp = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  event.opened = event.timestamp - std::chrono::milliseconds(9);
  event.arrivals = {0, 40'000, 1'500'000};

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
  ASSERT_EQ(observation.size(), k_event_observation_size);
  std::size_t i = 0;
  for (const auto value : observation) {
    EXPECT_EQ(static_cast<float>(value.get_double().value()), event.observation[i++]);
  }
  EXPECT_EQ(root["observation_version"].get_int64().value(), 2);
  EXPECT_EQ(root["action"].get_int64().value(), 1);
  EXPECT_EQ(root["policy"].get_string().value(), "learned");
  EXPECT_EQ(root["opened_unix_ns"].get_int64().value(), 1'699'999'999'991'000'000);
  std::vector<std::int64_t> arrivals;
  for (const auto value : root["arrivals_ns"].get_array().value()) {
    arrivals.push_back(value.get_int64().value());
  }
  EXPECT_EQ(arrivals, event.arrivals);
  EXPECT_TRUE(root["arrivals_truncated"].error() == simdjson::NO_SUCH_FIELD);
}

TEST(TelemetryFlushEvent, ArrivalsAreWrittenOnlyWhenRecordedAndACutListSaysSo) {
  FlushEvent event;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(to_json(event)).get(root), simdjson::SUCCESS);
  EXPECT_TRUE(root["arrivals_ns"].error() == simdjson::NO_SUCH_FIELD);
  EXPECT_TRUE(root["opened_unix_ns"].error() == simdjson::NO_SUCH_FIELD);

  event.arrivals = {0, 1};
  event.arrivals_truncated = true;
  ASSERT_EQ(parser.parse(to_json(event)).get(root), simdjson::SUCCESS);
  EXPECT_EQ(root["arrivals_ns"].get_array().value().size(), 2u);
  EXPECT_TRUE(root["arrivals_truncated"].get_bool().value());
}

TEST(TelemetryFlushEvent, NonFiniteObservationIsNull) {
  FlushEvent event;
  event.observation = {std::numeric_limits<float>::quiet_NaN(),
                       std::numeric_limits<float>::infinity(),
                       0.0f,
                       1.0f,
                       0.0f,
                       0.0f,
                       0.0f,
                       0.0f};
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
