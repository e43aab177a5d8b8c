// levee-kafka-capture (bench/tools/kafka_mock_capture.cpp) as a real process: a librdkafka
// producer in the test, and then a real levee's Kafka telemetry sink, write to the topic it
// serves on 127.0.0.1; what it consumes back must be in its output file, one message a line.
// Every wait is on an event (a ready line, the capture's exit once it has written the
// expected count), bounded in time.

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"
#include "support/process.hpp"
#include "telemetry/kafka_handle.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* k_topic = "levee.flush";

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The value after "key=" in a line of space-separated fields.
std::string field(const std::string& line, const std::string& key) {
  const auto at = line.find(" " + key + "=");
  if (at == std::string::npos) throw std::runtime_error("no " + key + " in: " + line);
  const auto begin = at + key.size() + 2;
  return line.substr(begin, line.find(' ', begin) - begin);
}

struct Capture {
  Capture(const std::filesystem::path& out, std::vector<std::string> extra_args)
      : process(binary_path("levee-kafka-capture"), args(out, std::move(extra_args))) {
    ready = process.wait_for_line("levee-kafka-capture ready", 15s);
    bootstrap = field(ready, "bootstrap");
  }

  static std::vector<std::string> args(const std::filesystem::path& out,
                                       std::vector<std::string> extra) {
    std::vector<std::string> all{"--out", out.string(), "--topic", k_topic};
    all.insert(all.end(), extra.begin(), extra.end());
    // A backstop for a test that fails before stopping it; a test may give its own.
    if (std::find(extra.begin(), extra.end(), "--max-seconds") == extra.end()) {
      all.insert(all.end(), {"--max-seconds", "60"});
    }
    return all;
  }

  Process process;
  std::string ready;
  std::string bootstrap;
};

// librdkafka's threads are created with C11 thrd_create(), which ThreadSanitizer does not
// intercept (tests/unit/telemetry/kafka_sink_test.cpp): under TSan neither this test's
// producer nor a TSan-built levee or capture can run them.
class KafkaCaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
    GTEST_SKIP() << "librdkafka's threads are invisible to ThreadSanitizer";
#endif
#endif
  }

  TempDir dir;
  std::filesystem::path out = dir.path() / "captured.jsonl";
};

void produce(const std::string& bootstrap, const std::vector<std::string>& values) {
  const telemetry::KafkaHandle producer = telemetry::make_kafka_handle(
      RD_KAFKA_PRODUCER,
      {{"bootstrap.servers", bootstrap}, {"linger.ms", "5"}, {"log_level", "3"}});
  ASSERT_NE(producer, nullptr);
  for (const std::string& value : values) {
    ASSERT_EQ(rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC(k_topic),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  EXPECT_EQ(rd_kafka_flush(producer.get(), 30'000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

TEST_F(KafkaCaptureTest, AppendsEveryMessageAsOneLineInOrder) {
  ASSERT_FALSE(write_file(out, "{\"already\":\"there\"}\n").empty());
  Capture capture(out, {"--max-messages", "5"});
  EXPECT_EQ(capture.bootstrap.rfind("127.0.0.1:", 0), 0u) << capture.ready;
  EXPECT_NE(capture.ready.find(" topic=levee.flush partitions=1"), std::string::npos)
      << capture.ready;

  const std::vector<std::string> values{"{\"n\":0}", "{\"n\":1}", "", "{\"n\":3}",
                                        "{\"route\":\"api\",\"size\":4}"};
  produce(capture.bootstrap, values);
  ASSERT_EQ(capture.process.wait_exit(30s), 0) << capture.process.stderr_text();
  EXPECT_NE(capture.process.stdout_text().find(
                "levee-kafka-capture done messages=5 errors=0 reason=max-messages"),
            std::string::npos)
      << capture.process.stdout_text();

  std::vector<std::string> expected{"{\"already\":\"there\"}"};
  expected.insert(expected.end(), values.begin(), values.end());
  EXPECT_EQ(read_lines(out), expected);
}

TEST_F(KafkaCaptureTest, StopsCleanlyOnSigtermAndSigint) {
  for (const int signal : {SIGTERM, SIGINT}) {
    Capture capture(out, {});
    ASSERT_TRUE(capture.process.send_signal(signal));
    EXPECT_EQ(capture.process.wait_exit(10s), 0) << capture.process.stderr_text();
    EXPECT_NE(capture.process.stdout_text().find("done messages=0 errors=0 reason=signal"),
              std::string::npos)
        << capture.process.stdout_text();
  }
  EXPECT_TRUE(read_lines(out).empty());
}

TEST_F(KafkaCaptureTest, StopsByItselfAfterMaxSeconds) {
  Capture capture(out, {"--max-seconds", "0.5"});
  EXPECT_EQ(capture.process.wait_exit(15s), 0) << capture.process.stderr_text();
  EXPECT_NE(capture.process.stdout_text().find("reason=max-seconds"), std::string::npos)
      << capture.process.stdout_text();
}

TEST_F(KafkaCaptureTest, BadArgumentsExitWithTwo) {
  for (const auto& args : {std::vector<std::string>{},
                           std::vector<std::string>{"--out", out.string(), "--partitions", "0"},
                           std::vector<std::string>{"--out", out.string(), "--topic", ""}}) {
    Process capture(binary_path("levee-kafka-capture"), args);
    EXPECT_EQ(capture.wait_exit(15s), 2) << capture.stderr_text();
  }
}

TEST_F(KafkaCaptureTest, RefusesAnOutputFileItCannotOpen) {
  Process capture(binary_path("levee-kafka-capture"),
                  {"--out", (dir.path() / "no-such-dir" / "x.jsonl").string()});
  EXPECT_EQ(capture.wait_exit(15s), 1);
  EXPECT_NE(capture.stderr_text().find("cannot open"), std::string::npos) << capture.stderr_text();
}

// levee's own Kafka sink, configured through [telemetry], against the capture: each flush
// comes back as the JSON line the JSONL sink would have written.
TEST_F(KafkaCaptureTest, LeveesKafkaSinkDeliversEveryFlushEvent) {
  constexpr int k_requests = 12;
  Capture capture(out, {"--max-messages", std::to_string(k_requests)});
  LeveeOptions options;
  options.routes =
      "[[routes]]\nname = \"api\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n"
      "mode = \"collapse\"\n[routes.collapse]\nstrategy = \"window\"\nmax_wait = \"20ms\"\n"
      "policy = \"adaptive\"\n"
      "[telemetry]\nsink = \"kafka\"\nbrokers = \"" +
      capture.bootstrap + "\"\ntopic = \"" + k_topic + "\"\n";
  Stack stack(options, {"--latency", "2ms"});
  // One request at a time: one slot, one flush, one event each.
  for (int i = 0; i < k_requests; ++i) ASSERT_EQ(http_get(stack.port(), "/api/k").status, 200);

  ASSERT_EQ(capture.process.wait_exit(30s), 0) << capture.process.stderr_text();
  const auto lines = read_lines(out);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(k_requests));
  simdjson::dom::parser parser;
  for (const std::string& line : lines) {
    simdjson::dom::element event;
    ASSERT_EQ(parser.parse(line).get(event), simdjson::SUCCESS) << line;
    EXPECT_EQ(event["route"].get_string().value(), "api") << line;
    EXPECT_EQ(event["size"].get_int64().value(), 1) << line;
    EXPECT_EQ(event["status"].get_int64().value(), 200) << line;
    EXPECT_EQ(event["policy"].get_string().value(), "adaptive") << line;
  }
  // The drain thread counts an event as written once the sink took it, which can be a moment
  // after the capture consumed it.
  EXPECT_TRUE(eventually([&] {
    return metric_value(stack.admin_port(), "levee_telemetry_events_total{result=\"written\"}") ==
           static_cast<std::uint64_t>(k_requests);
  }));
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_telemetry_sink_info{sink=\"kafka\"}"), 1u);

  ASSERT_TRUE(stack.levee.process.send_signal(SIGTERM));
  EXPECT_EQ(stack.levee.process.wait_exit(10s), 0) << stack.levee.process.stderr_text();
}

}  // namespace
}  // namespace levee::testing
