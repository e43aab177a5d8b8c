#include "telemetry/jsonl_sink.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace levee::telemetry {
namespace {

// A fresh directory per test, removed afterwards.
class JsonlSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("levee-jsonl-" + std::to_string(::getpid()) + "-" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

FlushEvent sample(std::uint32_t n) {
  FlushEvent event;
  event.route = "route-" + std::to_string(n % 3) + "/\"é\"";
  event.reason = n % 2 == 0 ? FlushReason::timeout : FlushReason::size_cap;
  event.size = n;
  event.age = std::chrono::microseconds(100 + n);
  event.upstream_latency = std::chrono::microseconds(2000 + n);
  event.status = 200;
  event.observation = {
      0.125f * static_cast<float>(n % 8), 0.5f, 0.3f, 0.75f, 0.1f, 0.2f, 0.3f, 0.4f};
  event.observation_version = 2;
  event.action = static_cast<int>(n % 3) - 1;
  event.policy = "adaptive";
  event.timestamp = std::chrono::system_clock::now();
  return event;
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void expect_line_is(const std::string& line, const FlushEvent& event) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(line).get(root), simdjson::SUCCESS) << line;
  EXPECT_EQ(root["route"].get_string().value(), event.route);
  EXPECT_EQ(root["reason"].get_string().value(), to_string(event.reason));
  EXPECT_EQ(root["size"].get_int64().value(), event.size);
  EXPECT_EQ(root["age_ns"].get_int64().value(), event.age.count());
  EXPECT_EQ(root["upstream_latency_ns"].get_int64().value(), event.upstream_latency.count());
  EXPECT_EQ(root["status"].get_int64().value(), event.status);
  std::size_t i = 0;
  for (const auto value : root["observation"].get_array().value()) {
    EXPECT_EQ(static_cast<float>(value.get_double().value()), event.observation[i++]);
  }
  EXPECT_EQ(i, k_event_observation_size);
  EXPECT_EQ(root["observation_version"].get_int64().value(), event.observation_version);
  EXPECT_EQ(root["action"].get_int64().value(), event.action);
  EXPECT_EQ(root["policy"].get_string().value(), event.policy);
  EXPECT_EQ(root["ts_unix_ns"].get_int64().value(),
            std::chrono::duration_cast<std::chrono::nanoseconds>(event.timestamp.time_since_epoch())
                .count());
}

TEST_F(JsonlSinkTest, RoundTripsEveryField) {
  const auto path = dir_ / "flush.jsonl";
  std::vector<FlushEvent> events;
  {
    JsonlSink sink({.path = path, .max_bytes = 0, .keep_files = 0});
    for (std::uint32_t n = 0; n < 50; ++n) {
      events.push_back(sample(n));
      ASSERT_TRUE(sink.write(events.back()));
    }
    sink.flush();
    EXPECT_EQ(sink.errors(), 0u);
  }
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), events.size());
  for (std::size_t i = 0; i < lines.size(); ++i) expect_line_is(lines[i], events[i]);
}

TEST_F(JsonlSinkTest, AppendsToAnExistingFile) {
  const auto path = dir_ / "flush.jsonl";
  for (int round = 0; round < 2; ++round) {
    JsonlSink sink({.path = path, .max_bytes = 0, .keep_files = 0});
    ASSERT_TRUE(sink.write(sample(static_cast<std::uint32_t>(round))));
  }
  EXPECT_EQ(read_lines(path).size(), 2u);
}

TEST_F(JsonlSinkTest, RotatesBySizeAndKeepsNFiles) {
  const auto path = dir_ / "flush.jsonl";
  const std::size_t line_bytes = to_json(sample(0)).size() + 1;
  // Three lines fit in one file; the fourth starts a new one.
  const std::uint64_t max_bytes = 3 * line_bytes + line_bytes / 2;
  constexpr std::uint32_t k_events = 20;  // 7 files' worth: 4 rotations beyond keep_files = 2
  {
    JsonlSink sink({.path = path, .max_bytes = max_bytes, .keep_files = 2});
    for (std::uint32_t n = 0; n < k_events; ++n) ASSERT_TRUE(sink.write(sample(n % 10)));
    sink.flush();
    EXPECT_EQ(sink.rotations(), 6u);
    EXPECT_EQ(sink.errors(), 0u);
  }
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "flush.jsonl.1"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "flush.jsonl.2"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "flush.jsonl.3"));
  for (const auto& file : {path, dir_ / "flush.jsonl.1", dir_ / "flush.jsonl.2"}) {
    EXPECT_LE(std::filesystem::file_size(file), max_bytes) << file;
  }
  // Newest events in `path`, the ones before in .1, then .2: events 12..19 in order.
  std::vector<std::string> lines;
  for (const auto& file : {dir_ / "flush.jsonl.2", dir_ / "flush.jsonl.1", path}) {
    for (auto& line : read_lines(file)) lines.push_back(std::move(line));
  }
  ASSERT_EQ(lines.size(), 3u + 3u + 2u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    ASSERT_EQ(parser.parse(lines[i]).get(root), simdjson::SUCCESS);
    EXPECT_EQ(root["size"].get_int64().value(), static_cast<std::int64_t>((12 + i) % 10));
  }
}

TEST_F(JsonlSinkTest, UnwritablePathCountsErrorsAndNeverThrows) {
  const auto path = dir_ / "missing-directory" / "flush.jsonl";
  JsonlSink sink({.path = path, .max_bytes = 0, .keep_files = 0});
  EXPECT_FALSE(sink.write(sample(1)));
  EXPECT_FALSE(sink.write(sample(2)));
  sink.flush();
  EXPECT_GE(sink.errors(), 2u);
  // Once the directory exists, the sink recovers at the next write.
  std::filesystem::create_directories(path.parent_path());
  EXPECT_TRUE(sink.write(sample(3)));
  sink.flush();
  EXPECT_EQ(read_lines(path).size(), 1u);
}

}  // namespace
}  // namespace levee::telemetry
