#include "server/access_log.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace levee::server {
namespace {

using namespace std::chrono_literals;

// The writer never wakes on its own: only flush(), reopen() and stop() make it write.
constexpr AccessLogOptions k_manual{std::chrono::hours(1), ~std::size_t{0}, std::size_t{8} << 20};

// A fresh directory per test, removed afterwards.
class AccessLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("levee-access-" + std::to_string(::getpid()) + "-" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "access.jsonl").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string path_;
};

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The file's lines; fails the test unless every one is complete (ends with "}\n").
std::vector<std::string> complete_lines(const std::filesystem::path& path) {
  const std::string text = read_text(path);
  EXPECT_TRUE(text.empty() || text.ends_with("}\n")) << text;
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    EXPECT_TRUE(line.starts_with('{') && line.ends_with('}')) << line;
    lines.push_back(line);
  }
  return lines;
}

std::string numbered(int n) { return "{\"n\":" + std::to_string(n) + "}"; }

template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds within = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return condition();
}

TEST(AccessLogFormat, OneJsonObjectWithEscapedStrings) {
  const AccessRecord record{
      "127.0.0.1:5000", "GET", "/a?q=\"x\"", "svc.local", "all", 200, 12, 3, 0.0015};
  const auto line = format_access_record(
      record, std::chrono::system_clock::time_point{} + std::chrono::microseconds(86'401'007'900));
  EXPECT_EQ(line, R"({"time":"1970-01-02T00:00:01.007Z","client":"127.0.0.1:5000","method":"GET",)"
                  R"("target":"/a?q=\"x\"","host":"svc.local","route":"all","status":200,)"
                  R"("request_bytes":3,"response_bytes":12,"duration_ms":1.500})");
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  EXPECT_EQ(parser.parse(line).get(root), simdjson::SUCCESS);
}

TEST_F(AccessLogTest, OpeningAFileThatCannotBeCreatedThrowsNamingThePath) {
  const auto bad = (dir_ / "missing" / "access.jsonl").string();
  try {
    AccessLog log(bad);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}

TEST_F(AccessLogTest, RecordWritesOneCompleteLineOnFlush) {
  AccessLog log(path_, k_manual);
  log.record(AccessRecord{"c", "GET", "/x", "h", "r", 200, 1, 0, 0.001});
  EXPECT_EQ(read_text(path_), "");
  log.flush();
  const auto lines = complete_lines(path_);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(R"("target":"/x")"), std::string::npos) << lines[0];
  EXPECT_EQ(log.counts().written, 1u);
}

TEST_F(AccessLogTest, LinesReachTheFileWithinTheFlushIntervalWithoutAnyCall) {
  AccessLog log(path_, AccessLogOptions{20ms, ~std::size_t{0}, std::size_t{8} << 20});
  for (int i = 0; i < 3; ++i) log.append(numbered(i));
  EXPECT_TRUE(eventually([&] { return complete_lines(path_).size() == 3; }));
}

TEST_F(AccessLogTest, PassingTheThresholdWakesTheWriterEarly) {
  AccessLog log(path_, AccessLogOptions{std::chrono::hours(1), 64, std::size_t{8} << 20});
  for (int i = 0; i < 10; ++i) log.append(numbered(i));  // 80 bytes
  EXPECT_TRUE(eventually([&] { return complete_lines(path_).size() == 10; }));
}

TEST_F(AccessLogTest, StopWritesEveryPendingLineAndLaterLinesAreDropped) {
  {
    AccessLog log(path_, k_manual);
    for (int i = 0; i < 1000; ++i) log.append(numbered(i));
    log.stop();
    EXPECT_EQ(complete_lines(path_).size(), 1000u);
    log.append(numbered(1000));
    log.flush();  // returns at once: there is no writer any more
    EXPECT_EQ(log.counts().dropped_queue_full, 1u);
  }
  {
    AccessLog log(path_, k_manual);
    log.append(numbered(2000));
  }  // the destructor stops too
  const auto lines = complete_lines(path_);
  ASSERT_EQ(lines.size(), 1001u);
  EXPECT_EQ(lines.back(), numbered(2000));
}

TEST_F(AccessLogTest, ReopenSendsLaterLinesToTheNewFileAndEarlierOnesToTheRenamedOne) {
  AccessLog log(path_, k_manual);
  log.append(numbered(1));
  log.flush();
  const auto rotated = dir_ / "access.jsonl.1";
  std::filesystem::rename(path_, rotated);
  // Queued before the reopen: it belongs to the rotated file.
  log.append(numbered(2));
  log.reopen();
  log.flush();  // the reopen happened no later than this flush's write
  ASSERT_TRUE(std::filesystem::exists(path_));
  log.append(numbered(3));
  log.flush();
  EXPECT_EQ(complete_lines(rotated), (std::vector<std::string>{numbered(1), numbered(2)}));
  EXPECT_EQ(complete_lines(path_), std::vector<std::string>{numbered(3)});
  EXPECT_EQ(log.counts().written, 3u);
}

TEST_F(AccessLogTest, AFailedReopenKeepsWritingToTheOldFile) {
  AccessLog log(path_, k_manual);
  const auto rotated = dir_ / "access.jsonl.1";
  std::filesystem::rename(path_, rotated);
  std::filesystem::create_directory(path_);  // open(2) of a directory for writing fails
  log.reopen();
  log.append(numbered(1));
  log.flush();
  EXPECT_EQ(complete_lines(rotated), std::vector<std::string>{numbered(1)});
  EXPECT_EQ(log.counts().written, 1u);
}

TEST_F(AccessLogTest, AFullQueueDropsWholeLinesAndCountsThem) {
  // Each line is 8 bytes with its newline: 5 fit under 40.
  AccessLog log(path_, AccessLogOptions{std::chrono::hours(1), ~std::size_t{0}, 40});
  for (int i = 0; i < 8; ++i) log.append(numbered(i));
  EXPECT_EQ(log.counts().dropped_queue_full, 3u);
  log.flush();
  EXPECT_EQ(complete_lines(path_), (std::vector<std::string>{numbered(0), numbered(1), numbered(2),
                                                             numbered(3), numbered(4)}));
  // Written out, the queue has room again.
  log.append(numbered(9));
  log.flush();
  EXPECT_EQ(complete_lines(path_).size(), 6u);
  EXPECT_EQ(log.counts().dropped_queue_full, 3u);
  EXPECT_EQ(log.counts().written, 6u);
}

TEST_F(AccessLogTest, AWriteErrorIsCountedAndTheLogKeepsGoing) {
  AccessLog log("/dev/full", k_manual);  // every write fails with ENOSPC
  for (int i = 0; i < 3; ++i) log.append(numbered(i));
  log.flush();
  log.append(numbered(3));
  log.flush();
  const auto counts = log.counts();
  EXPECT_EQ(counts.write_errors, 2u);
  EXPECT_EQ(counts.dropped_write_error, 4u);
  EXPECT_EQ(counts.written, 0u);
  EXPECT_EQ(counts.dropped_queue_full, 0u);
}

TEST_F(AccessLogTest, ConcurrentRecordsAllArriveAsWholeLines) {
  constexpr int k_threads = 4;
  constexpr int k_per_thread = 2000;
  {
    AccessLog log(path_, AccessLogOptions{1ms, 4096, std::size_t{8} << 20});
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < k_per_thread; ++i) {
          log.record(AccessRecord{"c", "GET", "/t" + std::to_string(t), "h", "r", 200,
                                  static_cast<std::size_t>(i), 0, 0.0});
          if (i % 500 == 0) log.flush();
          if (i == k_per_thread / 2 && t == 0) log.reopen();
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(log.counts().dropped_queue_full, 0u);
  }
  const auto lines = complete_lines(path_);
  ASSERT_EQ(lines.size(), std::size_t{k_threads * k_per_thread});
  simdjson::dom::parser parser;
  for (const auto& line : lines) {
    simdjson::dom::element root;
    ASSERT_EQ(parser.parse(line).get(root), simdjson::SUCCESS) << line;
  }
}

}  // namespace
}  // namespace levee::server
