// The access log of a running levee (issue 16.4): lines reach the file within a second while
// levee runs, only whole lines are ever written, and SIGUSR1 reopens the file for logrotate
// without losing a line, in normal running and while draining.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t line_count(const std::filesystem::path& path) {
  const std::string text = read_text(path);
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// The targets of the file's lines; fails the test unless every line is a complete JSON
// object ending in "}\n".
std::vector<std::string> logged_targets(const std::filesystem::path& path) {
  const std::string text = read_text(path);
  EXPECT_TRUE(text.empty() || text.ends_with("}\n")) << path << ":\n" << text;
  std::vector<std::string> targets;
  simdjson::dom::parser parser;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    simdjson::dom::element root;
    std::string_view target;
    EXPECT_EQ(parser.parse(line).get(root), simdjson::SUCCESS) << line;
    EXPECT_EQ(root["target"].get(target), simdjson::SUCCESS) << line;
    targets.emplace_back(target);
  }
  return targets;
}

bool has(const std::vector<std::string>& targets, const std::string& target) {
  return std::find(targets.begin(), targets.end(), target) != targets.end();
}

LeveeOptions logging_to(const std::filesystem::path& path) {
  LeveeOptions options;
  options.log_extra = "access_log = \"" + path.string() + "\"\n";
  return options;
}

TEST(AccessLog, LinesReachTheFileWithinTwoSecondsWhileLeveeRuns) {
  TempDir logs;
  const auto path = logs.path() / "access.jsonl";
  Stack stack(logging_to(path));
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(http_get(stack.port(), "/api/live" + std::to_string(i)).status, 200);
  }
  // The writer flushes at least once a second; 2 s leaves room for a loaded machine.
  EXPECT_TRUE(eventually([&] { return line_count(path) == 3; }, 2s)) << read_text(path);
  // A line is recorded after its response is sent: two requests' lines may swap.
  auto targets = logged_targets(path);
  std::sort(targets.begin(), targets.end());
  EXPECT_EQ(targets, (std::vector<std::string>{"/api/live0", "/api/live1", "/api/live2"}));
  EXPECT_TRUE(stack.levee.process.running());
  EXPECT_EQ(
      metric_value(stack.admin_port(), R"(levee_access_log_dropped_total{reason="queue_full"})"),
      0u);
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_access_log_write_errors_total"), 0u);
}

TEST(AccessLog, RenameThenSigusr1MovesLaterLinesToANewFileAndLosesNone) {
  TempDir logs;
  const auto path = logs.path() / "access.jsonl";
  const auto rotated = logs.path() / "access.jsonl.1";
  Stack stack(logging_to(path));

  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(http_get(stack.port(), "/api/before" + std::to_string(i)).status, 200);
  }
  ASSERT_TRUE(eventually([&] { return line_count(path) == 3; })) << read_text(path);

  // What logrotate does: rename, then signal. Requests in between may land in either file.
  std::filesystem::rename(path, rotated);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(http_get(stack.port(), "/api/between" + std::to_string(i)).status, 200);
  }
  ASSERT_TRUE(stack.levee.process.send_signal(SIGUSR1));
  // The writer creates the new file when it reopens; from then on every line goes there.
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(path); }))
      << stack.levee.process.stderr_text();

  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(http_get(stack.port(), "/api/after" + std::to_string(i)).status, 200);
  }
  ASSERT_TRUE(eventually([&] { return line_count(rotated) + line_count(path) == 8; }))
      << "old:\n"
      << read_text(rotated) << "new:\n"
      << read_text(path);
  EXPECT_TRUE(stack.levee.process.running());

  const auto old_targets = logged_targets(rotated);
  const auto new_targets = logged_targets(path);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(has(old_targets, "/api/before" + std::to_string(i))) << i;
    EXPECT_TRUE(has(new_targets, "/api/after" + std::to_string(i))) << i;
  }
  for (int i = 0; i < 2; ++i) {
    const auto target = "/api/between" + std::to_string(i);
    EXPECT_TRUE(has(old_targets, target) != has(new_targets, target)) << target;
  }

  // A normal exit writes nothing twice and loses nothing.
  ASSERT_TRUE(stack.levee.process.send_signal(SIGTERM));
  EXPECT_EQ(stack.levee.process.wait_exit(10s), 0) << stack.levee.process.stderr_text();
  EXPECT_EQ(logged_targets(rotated).size() + logged_targets(path).size(), 8u);
}

TEST(AccessLog, Sigusr1WhileDrainingReopensAndACutDrainStillWritesEveryLine) {
  TempDir logs;
  const auto path = logs.path() / "access.jsonl";
  const auto rotated = logs.path() / "access.jsonl.1";
  LeveeOptions options = logging_to(path);
  options.upstream_extra = "request_timeout = \"30s\"\n";
  Stack stack(options);

  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(http_get(stack.port(), "/api/early" + std::to_string(i)).status, 200);
  }
  // Keeps the drain going until the second signal cuts it. Once the upstream has it, levee
  // holds it as a request in flight (an earlier request may still count itself as active
  // while it writes its log line, so levee_active_requests would not tell).
  HttpConnection slow(stack.port());
  ASSERT_TRUE(slow.send_raw(format_request(stack.port(), "GET", "/slow?ms=10000")));
  ASSERT_TRUE(eventually([&] { return stack.upstream.calls("/slow") == 1; }));
  ASSERT_TRUE(stack.levee.process.send_signal(SIGTERM));
  (void)stack.levee.process.wait_for_line("levee draining", 5s);

  ASSERT_TRUE(eventually([&] { return line_count(path) == 3; })) << read_text(path);
  std::filesystem::rename(path, rotated);
  ASSERT_TRUE(stack.levee.process.send_signal(SIGUSR1));
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(path); }))
      << stack.levee.process.stderr_text();

  ASSERT_TRUE(stack.levee.process.send_signal(SIGINT));
  EXPECT_EQ(stack.levee.process.wait_exit(10s), 1) << stack.levee.process.stderr_text();
  const auto old_targets = logged_targets(rotated);
  EXPECT_EQ(old_targets.size(), 3u);
  // The cut request may or may not have been logged (it was answered by nobody), but what
  // is in the new file is whole.
  EXPECT_LE(logged_targets(path).size(), 1u);
}

}  // namespace
}  // namespace levee::testing
