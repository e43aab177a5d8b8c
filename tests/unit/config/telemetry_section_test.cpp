// [telemetry]: defaults, each sink's required keys, limits, unknown keys and environment
// overrides, through the loader as levee reads a file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "config/config_error.hpp"
#include "config/loader.hpp"

namespace levee::config {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

using Environment = std::map<std::string, std::string>;

// Lines 1-5; a [telemetry] table appended to it starts on line 6.
constexpr const char* base_toml = R"([upstreams.legacy]
address = "127.0.0.1:9000"
[[routes]]
name = "all"
upstream = "legacy"
)";

Config load(const std::string& telemetry, const Environment& environment = {}) {
  return load_string(std::string(base_toml) + telemetry, "test.toml", environment);
}

std::vector<ConfigError> errors_of(const std::string& telemetry,
                                   const Environment& environment = {}) {
  try {
    (void)load(telemetry, environment);
  } catch (const ConfigErrors& errors) {
    return errors.errors;
  }
  ADD_FAILURE() << "expected the configuration to be rejected";
  return {};
}

// The only error; fails the test unless there is exactly one.
ConfigError only_error(const std::vector<ConfigError>& errors) {
  if (errors.size() != 1) {
    std::string text;
    for (const ConfigError& error : errors) text += "\n  " + error.to_string();
    ADD_FAILURE() << errors.size() << " errors:" << text;
    return {};
  }
  return errors.front();
}

TEST(TelemetryConfigSection, AbsentMeansNoSinkAndDefaults) {
  const TelemetryConfig t = load("").telemetry;
  EXPECT_EQ(t.sink, TelemetrySink::none);
  EXPECT_EQ(to_string(t.sink), "none");
  EXPECT_EQ(t.path, "");
  EXPECT_EQ(t.max_file_bytes, 64u << 20);
  EXPECT_EQ(t.keep_files, 5u);
  EXPECT_EQ(t.topic, "levee-flush-events");
  EXPECT_EQ(t.queue_capacity, 8192u);
  EXPECT_EQ(t.poll_interval, 10ms);
  EXPECT_EQ(t.drain_timeout, 2s);
}

TEST(TelemetryConfigSection, ReadsJsonlKeys) {
  const TelemetryConfig t = load(R"([telemetry]
sink = "jsonl"
path = "flush-events.jsonl"
max_file_bytes = "1MiB"
keep_files = 2
queue_capacity = 1024
poll_interval = "50ms"
drain_timeout = "0s"
)")
                                .telemetry;
  EXPECT_EQ(t.sink, TelemetrySink::jsonl);
  EXPECT_EQ(t.path, "flush-events.jsonl");
  EXPECT_EQ(t.max_file_bytes, 1u << 20);
  EXPECT_EQ(t.keep_files, 2u);
  EXPECT_EQ(t.queue_capacity, 1024u);
  EXPECT_EQ(t.poll_interval, 50ms);
  EXPECT_EQ(t.drain_timeout, 0s);
}

TEST(TelemetryConfigSection, ReadsKafkaKeys) {
  const TelemetryConfig t = load(R"([telemetry]
sink = "kafka"
brokers = "127.0.0.1:9092,127.0.0.1:9093"
)")
                                .telemetry;
  EXPECT_EQ(t.sink, TelemetrySink::kafka);
  EXPECT_EQ(t.brokers, "127.0.0.1:9092,127.0.0.1:9093");
  EXPECT_EQ(t.topic, "levee-flush-events");
}

TEST(TelemetryConfigSection, JsonlNeedsAPath) {
  const ConfigError error = only_error(errors_of("[telemetry]\nsink = \"jsonl\"\n"));
  EXPECT_EQ(error.key, "telemetry.path");
  EXPECT_THAT(error.message, HasSubstr("required with sink = \"jsonl\""));
  const ConfigError empty = only_error(errors_of("[telemetry]\nsink = \"jsonl\"\npath = \"\"\n"));
  EXPECT_EQ(empty.key, "telemetry.path");
  EXPECT_EQ(empty.line, 8u);
  EXPECT_THAT(empty.message, HasSubstr("must not be empty"));
}

TEST(TelemetryConfigSection, KafkaNeedsBrokersAndATopic) {
  const ConfigError brokers = only_error(errors_of("[telemetry]\nsink = \"kafka\"\n"));
  EXPECT_EQ(brokers.key, "telemetry.brokers");
  EXPECT_THAT(brokers.message, HasSubstr("required with sink = \"kafka\""));
  const ConfigError topic =
      only_error(errors_of("[telemetry]\nsink = \"kafka\"\nbrokers = \"k:9092\"\ntopic = \"\"\n"));
  EXPECT_EQ(topic.key, "telemetry.topic");
  EXPECT_EQ(topic.line, 9u);
}

TEST(TelemetryConfigSection, OtherSinksKeysAreIgnoredButTypeChecked) {
  const TelemetryConfig t =
      load("[telemetry]\nsink = \"none\"\npath = \"x.jsonl\"\nbrokers = \"k:9092\"\n").telemetry;
  EXPECT_EQ(t.sink, TelemetrySink::none);
  const ConfigError error = only_error(errors_of("[telemetry]\nbrokers = 9092\n"));
  EXPECT_EQ(error.key, "telemetry.brokers");
  EXPECT_THAT(error.message, HasSubstr("expected a string"));
}

TEST(TelemetryConfigSection, BadValuesNameFileLineAndKey) {
  const auto errors = errors_of(R"([telemetry]
sink = "file"
queue_capacity = 8
keep_files = -1
max_file_bytes = "lots"
poll_interval = "0ms"
drain_timeout = "2m"
colour = "blue"
)");
  ASSERT_EQ(errors.size(), 7u);
  const std::vector<std::string> keys = {"telemetry.sink",          "telemetry.queue_capacity",
                                         "telemetry.keep_files",    "telemetry.max_file_bytes",
                                         "telemetry.poll_interval", "telemetry.drain_timeout",
                                         "telemetry.colour"};
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(errors[i].key, keys[i]);
    EXPECT_EQ(errors[i].file, "test.toml");
    EXPECT_EQ(errors[i].line, 7u + i);
  }
  EXPECT_THAT(errors[0].message, HasSubstr("unknown sink \"file\""));
  EXPECT_THAT(errors[1].message, HasSubstr("from 16 to 1048576"));
  EXPECT_THAT(errors[5].message, HasSubstr("at most 1m"));
  EXPECT_THAT(errors[6].message, HasSubstr("unknown key"));
}

TEST(TelemetryConfigSection, QueueCapacityUpperLimit) {
  const ConfigError error = only_error(errors_of("[telemetry]\nqueue_capacity = 1048577\n"));
  EXPECT_EQ(error.key, "telemetry.queue_capacity");
  EXPECT_NO_THROW(load("[telemetry]\nqueue_capacity = 1048576\n"));
}

TEST(TelemetryConfigSection, NotATable) {
  // A root key: before the tables, or TOML would make it a key of the last one.
  try {
    (void)load_string("telemetry = \"jsonl\"\n" + std::string(base_toml), "test.toml", {});
    ADD_FAILURE() << "expected the configuration to be rejected";
  } catch (const ConfigErrors& errors) {
    const ConfigError error = only_error(errors.errors);
    EXPECT_EQ(error.line, 1u);
    EXPECT_EQ(error.key, "telemetry");
    EXPECT_THAT(error.message, HasSubstr("expected a table"));
  }
}

TEST(TelemetryConfigSection, EnvironmentOverridesKeys) {
  const TelemetryConfig t = load("[telemetry]\nsink = \"jsonl\"\npath = \"a.jsonl\"\n",
                                 {{"LEVEE_TELEMETRY__PATH", "/var/log/levee/flush.jsonl"},
                                  {"LEVEE_TELEMETRY__QUEUE_CAPACITY", "65536"},
                                  {"LEVEE_TELEMETRY__POLL_INTERVAL", "5ms"}})
                                .telemetry;
  EXPECT_EQ(t.path, "/var/log/levee/flush.jsonl");
  EXPECT_EQ(t.queue_capacity, 65536u);
  EXPECT_EQ(t.poll_interval, 5ms);
}

TEST(TelemetryConfigSection, EnvironmentCanTurnTheSinkOnOrOff) {
  const Config off = load("[telemetry]\nsink = \"jsonl\"\npath = \"a.jsonl\"\n",
                          {{"LEVEE_TELEMETRY__SINK", "none"}});
  EXPECT_EQ(off.telemetry.sink, TelemetrySink::none);
  // Without a [telemetry] table in the file at all.
  const Config on =
      load("", {{"LEVEE_TELEMETRY__SINK", "kafka"}, {"LEVEE_TELEMETRY__BROKERS", "k:9092"}});
  EXPECT_EQ(on.telemetry.sink, TelemetrySink::kafka);
  EXPECT_EQ(on.telemetry.brokers, "k:9092");
}

TEST(TelemetryConfigSection, EnvironmentErrorsNameTheVariable) {
  const ConfigError bad = only_error(errors_of("", {{"LEVEE_TELEMETRY__QUEUE_CAPACITY", "0"}}));
  EXPECT_EQ(bad.file, "environment variable LEVEE_TELEMETRY__QUEUE_CAPACITY");
  EXPECT_EQ(bad.key, "telemetry.queue_capacity");
  const ConfigError unknown = only_error(errors_of("", {{"LEVEE_TELEMETRY__TOPC", "x"}}));
  EXPECT_EQ(unknown.file, "environment variable LEVEE_TELEMETRY__TOPC");
  EXPECT_THAT(unknown.message, HasSubstr("unknown key"));
}

}  // namespace
}  // namespace levee::config
