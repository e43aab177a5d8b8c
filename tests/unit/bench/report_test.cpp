#include "bench/report.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace levee::bench {
namespace {

RunResult sample_result() {
  RunResult result;
  result.mode = LoopMode::open;
  result.scheduled = 1000;
  result.sent = 1000;
  result.completed = 998;
  result.ok = 990;
  result.errors[static_cast<std::size_t>(ErrorKind::status)] = 6;
  result.errors[static_cast<std::size_t>(ErrorKind::mismatch)] = 2;
  result.errors[static_cast<std::size_t>(ErrorKind::timeout)] = 2;
  result.statuses[503] = 6;
  result.mismatch_examples.push_back(
      "request #7 (/api/a): path: expected \"/api/a\", got \"/api/b\"");
  for (std::uint64_t i = 1; i <= 990; ++i) result.latency.record(i * 1'000'000);  // 1..990 ms
  result.nominal_seconds = 10;
  result.elapsed_seconds = 10.5;
  result.upstream_calls = 250;
  result.connection_cap = 1024;
  result.started_at = "2026-11-23T00:00:00Z";
  return result;
}

TEST(Report, JsonLineCarriesTheRequiredFields) {
  const std::string line =
      format_json_line(sample_result(), {"levee", "waves", "http://127.0.0.1:1"});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(line).get(root), simdjson::SUCCESS) << line;
  EXPECT_EQ(std::string_view(root["label"]), "levee");
  EXPECT_EQ(std::string_view(root["scenario"]), "waves");
  EXPECT_EQ(std::uint64_t(root["requests"]), 1000u);
  EXPECT_EQ(std::uint64_t(root["errors"]), 10u);
  EXPECT_EQ(std::uint64_t(root["mismatches"]), 2u);
  EXPECT_EQ(std::uint64_t(root["upstream_calls"]), 250u);
  EXPECT_NEAR(double(root["upstream_reduction"]), 0.75, 1e-9);
  EXPECT_NEAR(double(root["rate_scheduled"]), 100.0, 1e-9);
  EXPECT_NEAR(double(root["rate_achieved"]), 998 / 10.5, 0.1);
  EXPECT_NEAR(double(root["p50_ms"]), 495, 5);
  EXPECT_NEAR(double(root["p90_ms"]), 891, 9);
  EXPECT_NEAR(double(root["p99_ms"]), 981, 10);
  EXPECT_NEAR(double(root["p999_ms"]), 990, 10);
  EXPECT_NEAR(double(root["max_ms"]), 990, 1e-9);
  EXPECT_EQ(std::uint64_t(root["errors_by_kind"]["timeout"]), 2u);
  EXPECT_EQ(std::uint64_t(root["statuses"]["503"]), 6u);
}

TEST(Report, UnknownUpstreamIsNullAndClosedLoopHasNoSchedule) {
  RunResult result = sample_result();
  result.upstream_calls.reset();
  result.mode = LoopMode::closed;
  const std::string line = format_json_line(result, {"", "s", "t"});
  EXPECT_NE(line.find("\"upstream_calls\":null"), std::string::npos) << line;
  EXPECT_NE(line.find("\"upstream_reduction\":null"), std::string::npos) << line;
  EXPECT_NE(line.find("\"rate_scheduled\":null"), std::string::npos) << line;
}

TEST(Report, OverheadIsReportedOnlyWhenMeasured) {
  RunResult result = sample_result();
  const std::string off = format_json_line(result, {"", "s", "t"});
  EXPECT_EQ(off.find("overhead"), std::string::npos) << off;
  EXPECT_EQ(format_summary(result, {"", "s", "t"}).find("overhead"), std::string::npos);

  result.overhead_header = "X-Levee-Batch";
  for (std::uint64_t i = 1; i <= 100; ++i) result.overhead.record(i * 10'000);  // 0.01..1 ms
  result.overhead_missing = 3;
  const std::string line = format_json_line(result, {"", "s", "t"});
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(line).get(root), simdjson::SUCCESS) << line;
  EXPECT_EQ(std::uint64_t(root["overhead_ms"]["count"]), 100u);
  EXPECT_NEAR(double(root["overhead_ms"]["p50"]), 0.5, 0.005);
  EXPECT_NEAR(double(root["overhead_ms"]["p90"]), 0.9, 0.005);
  EXPECT_NEAR(double(root["overhead_ms"]["p99"]), 0.99, 0.005);
  EXPECT_NEAR(double(root["overhead_ms"]["p999"]), 1.0, 0.005);
  EXPECT_NEAR(double(root["overhead_ms"]["max"]), 1.0, 1e-9);
  EXPECT_EQ(std::uint64_t(root["overhead_missing"]), 3u);
  const std::string summary = format_summary(result, {"", "s", "t"});
  EXPECT_NE(summary.find("overhead     p50 0.5"), std::string::npos) << summary;
  EXPECT_NE(summary.find("3 2xx without it"), std::string::npos) << summary;
}

TEST(Report, SummaryShowsMismatchesLoudly) {
  const std::string summary = format_summary(sample_result(), {"levee", "waves", "http://x"});
  EXPECT_NE(summary.find("MISMATCHES"), std::string::npos) << summary;
  EXPECT_NE(summary.find("request #7"), std::string::npos) << summary;
  EXPECT_NE(summary.find("503: 6"), std::string::npos) << summary;
  EXPECT_NE(summary.find("reduction 75.00 %"), std::string::npos) << summary;
}

}  // namespace
}  // namespace levee::bench
