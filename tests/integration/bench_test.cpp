// levee-bench against real processes: a tiny scenario through levee to levee-upstream, with
// the upstream accounting, the answer verification, and the failure kinds it reports.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "levee_fixture.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

struct BenchRun {
  int exit_code = 0;
  std::string out;
  std::string err;
  std::string json;  // the last stdout line
};

BenchRun run_bench(const std::string& scenario_path, std::vector<std::string> args) {
  std::vector<std::string> all = {"--scenario", scenario_path, "--progress", "off"};
  all.insert(all.end(), args.begin(), args.end());
  Process bench(binary_path("levee-bench"), all);
  BenchRun run;
  run.exit_code = bench.wait_exit(60s);
  run.out = bench.stdout_text();
  run.err = bench.stderr_text();
  std::string text = run.out;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  run.json = text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
  return run;
}

std::string url(std::uint16_t port, std::string_view path = "") {
  return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

class Json {
 public:
  explicit Json(const std::string& line) : text_(line) {
    if (parser_.parse(text_).get(root_) != simdjson::SUCCESS) {
      throw std::runtime_error("not a JSON line: " + line);
    }
  }
  [[nodiscard]] std::uint64_t count(std::string_view key) { return std::uint64_t(root_[key]); }
  [[nodiscard]] std::uint64_t error(std::string_view kind) {
    return std::uint64_t(root_["errors_by_kind"][kind]);
  }
  [[nodiscard]] double number(std::string_view key) { return double(root_[key]); }
  [[nodiscard]] double overhead(std::string_view key) { return double(root_["overhead_ms"][key]); }

 private:
  std::string text_;
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
};

TEST(LeveeBench, TinyWaveScenarioThroughLeveeIsVerifiedAndAccounted) {
  Stack stack;
  const auto scenario = write_file(stack.dir.path() / "tiny.toml", R"(
name = "tiny-waves"
description = "5 waves of 10 GETs over 4 keys and 3 users"
[[phase]]
kind = "waves"
waves = 5
size = 10
interval = "20ms"
[keys]
distribution = "uniform"
count = 4
[request]
path = "/api/key/{key}"
query = "n={seq}"
users = 3
)");
  const auto json_out = (stack.dir.path() / "out.jsonl").string();
  const BenchRun run = run_bench(scenario, {"--target", url(stack.port()), "--upstream-stats",
                                            url(stack.upstream.port, "/__stats"), "--json-out",
                                            json_out, "--label", "levee-pass"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  Json result(run.json);
  EXPECT_EQ(result.count("requests"), 50u);
  EXPECT_EQ(result.count("completed"), 50u);
  EXPECT_EQ(result.count("ok"), 50u);
  EXPECT_EQ(result.count("errors"), 0u);
  EXPECT_EQ(result.count("mismatches"), 0u);
  // Pass mode: every request reached the upstream, which counted them itself.
  EXPECT_EQ(result.count("upstream_calls"), 50u);
  EXPECT_EQ(stack.upstream.stats().total, 50u);
  EXPECT_DOUBLE_EQ(result.number("upstream_reduction"), 0.0);
  EXPECT_GT(result.number("max_ms"), 0.0);
  EXPECT_NE(run.out.find("latency"), std::string::npos) << run.out;
  // Timed from the moment each request was written, which is never before it was due.
  EXPECT_GT(result.number("service_p99_ms"), 0.0) << run.json;
  EXPECT_LE(result.number("service_p99_ms"), result.number("p99_ms")) << run.json;
  EXPECT_NE(run.out.find("from written"), std::string::npos) << run.out;

  const std::string appended = [&json_out] {
    std::ifstream file(json_out);
    return std::string(std::istreambuf_iterator<char>(file), {});
  }();
  EXPECT_EQ(appended, run.json + "\n");
}

TEST(LeveeBench, PostItemsAreCheckedByTheirId) {
  Stack stack;
  const auto scenario = write_file(stack.dir.path() / "items.toml", R"(
name = "items"
description = "40 POST items"
verify = "id"
[[phase]]
kind = "constant"
rate = 400
duration = "100ms"
[request]
method = "POST"
path = "/process"
)");
  const BenchRun run = run_bench(scenario, {"--target", url(stack.port())});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  Json result(run.json);
  EXPECT_EQ(result.count("requests"), 40u);
  EXPECT_EQ(result.count("ok"), 40u);
  EXPECT_EQ(result.count("mismatches"), 0u);
  EXPECT_EQ(stack.upstream.calls("/process"), 40u);
}

// Items through a batch route with levee's debug header: levee-bench takes the item's wait
// and the batch call out of each latency and reports what remains, levee's overhead. The
// same run without the debug header counts every answer as missing it.
LeveeOptions batch_route(std::string_view batch_table) {
  LeveeOptions options;
  options.routes =
      "[[routes]]\nname = \"items\"\npath_prefix = \"/process\"\nupstream = \"legacy\"\n"
      "mode = \"batch\"\n[routes.batch]\nupstream_path = \"/process_batch\"\n" +
      std::string(batch_table);
  return options;
}

TEST(LeveeBench, BatchOverheadIsReportedFromTheDebugHeader) {
  Stack stack(batch_route("max_batch_size = 10\nmax_wait = \"20ms\"\ndebug_header = true\n"),
              {"--batch-latency", "30ms"});
  const auto scenario = write_file(stack.dir.path() / "batch.toml", R"(
name = "batch-overhead"
description = "60 POST items in 3 waves of 20"
verify = "id"
overhead_header = "X-Levee-Batch"
[[phase]]
kind = "waves"
waves = 3
size = 20
interval = "50ms"
[request]
method = "POST"
path = "/process"
)");
  BenchRun run = run_bench(scenario, {"--target", url(stack.port()), "--upstream-stats",
                                      url(stack.upstream.port, "/__stats")});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  Json result(run.json);
  EXPECT_EQ(result.count("ok"), 60u);
  EXPECT_EQ(result.count("mismatches"), 0u);
  EXPECT_EQ(result.count("overhead_missing"), 0u);
  EXPECT_EQ(result.overhead("count"), 60u);
  // The batch call is taken out. It held each item for the upstream's 30 ms at least (a timer
  // never fires early), so each item's overhead is at most its latency - 30 ms however loaded
  // the machine is, and so is the median (the histogram reads back within 0.4 %; 1 % here).
  // No wall-clock bound: a slow run raises both sides.
  EXPECT_GE(result.number("p50_ms"), 30.0);
  EXPECT_LE(result.overhead("p50"), result.number("p50_ms") * 1.01 - 30.0) << run.json;
  EXPECT_LE(result.overhead("p50"), result.overhead("max"));
  EXPECT_NE(run.out.find("overhead     p50"), std::string::npos) << run.out;
  EXPECT_GE(stack.upstream.calls("/process_batch"), 6u);
  EXPECT_EQ(stack.upstream.calls("/process_batch_items"), 60u);

  // Without the header in levee's answers, every 2xx answer is counted as missing it.
  Stack quiet(batch_route("max_wait = \"5ms\"\n"));
  run = run_bench(scenario, {"--target", url(quiet.port())});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  Json missing(run.json);
  EXPECT_EQ(missing.count("overhead_missing"), 60u);
  EXPECT_EQ(missing.overhead("count"), 0u);

  // Not asked for: no overhead fields at all.
  const auto plain = write_file(stack.dir.path() / "plain.toml", R"(
name = "plain"
description = "5 POST items"
verify = "id"
[[phase]]
kind = "waves"
waves = 1
size = 5
interval = "10ms"
[request]
method = "POST"
path = "/process"
)");
  run = run_bench(plain, {"--target", url(stack.port())});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.json.find("overhead"), std::string::npos) << run.json;
}

// An answer that is not the echo of its own request is a mismatch, reported loudly, and the
// run exits 1 even without --fail-on-errors.
TEST(LeveeBench, AnswersThatDoNotBelongToTheirRequestAreMismatches) {
  Stack stack;
  const auto scenario = write_file(stack.dir.path() / "wrong.toml", R"(
name = "wrong"
description = "GETs whose answers are not echoes"
[[phase]]
kind = "waves"
waves = 1
size = 6
interval = "10ms"
[request]
path = "/set-cookie"
)");
  const BenchRun run = run_bench(scenario, {"--target", url(stack.port())});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  Json result(run.json);
  EXPECT_EQ(result.count("mismatches"), 6u);
  EXPECT_EQ(result.count("ok"), 0u);
  EXPECT_NE(run.out.find("MISMATCHES"), std::string::npos) << run.out;
  EXPECT_GT(result.number("error_service_p99_ms"), 0.0) << run.json;
  EXPECT_LE(result.number("error_service_p99_ms"), result.number("error_p99_ms")) << run.json;
}

TEST(LeveeBench, ClosedLoopStopsAtItsRequestCount) {
  Stack stack;
  const auto scenario = write_file(stack.dir.path() / "closed.toml", R"(
name = "closed"
description = "closed loop"
mode = "closed"
connections = 4
duration = "30s"
[request]
path = "/api/closed"
)");
  const BenchRun run =
      run_bench(scenario, {"--target", url(stack.port()), "--requests", "200", "--upstream-stats",
                           url(stack.upstream.port, "/__stats")});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  Json result(run.json);
  EXPECT_EQ(result.count("requests"), 200u);
  EXPECT_EQ(result.count("ok"), 200u);
  EXPECT_EQ(result.count("connections_peak"), 4u);
  EXPECT_EQ(result.count("upstream_calls"), 200u);
}

TEST(LeveeBench, FailuresAreCountedByKind) {
  TempDir dir;
  const auto scenario = write_file(dir.path() / "five.toml", R"(
name = "five"
description = "five requests"
[[phase]]
kind = "waves"
waves = 1
size = 5
interval = "10ms"
[request]
path = "/slow"
query = "ms=3000"
[limits]
timeout = "200ms"
)");
  // Nothing listens: connection errors, and --fail-on-errors turns them into exit 1.
  BenchRun run = run_bench(scenario, {"--target", url(unused_port()), "--fail-on-errors"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_EQ(Json(run.json).error("connect"), 5u);

  // An upstream slower than the timeout: timeouts, measured by the sweep, not by the target.
  UpstreamProcess upstream;
  run = run_bench(scenario, {"--target", url(upstream.port)});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  Json result(run.json);
  EXPECT_EQ(result.error("timeout"), 5u);
  EXPECT_EQ(result.count("ok"), 0u);
}

// A schedule of a minute cut short by limits.max_duration: the run stops on time and the
// partial result is still reported, with the schedule's rate over the time it ran.
TEST(LeveeBench, StopsAtMaxDurationAndReportsWhatItMeasured) {
  UpstreamProcess upstream;
  TempDir dir;
  const auto scenario = write_file(dir.path() / "long.toml", R"(
name = "long"
description = "a minute at 200/s"
[[phase]]
kind = "constant"
rate = 200
duration = "60s"
[request]
path = "/api/long"
)");
  // What shows that the limit stopped the run is what it scheduled, not how long it took: at
  // most 500 ms of a 12,000-request schedule.
  const BenchRun run =
      run_bench(scenario, {"--target", url(upstream.port), "--max-duration", "500ms"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  Json result(run.json);
  EXPECT_NE(run.json.find("\"interrupted\":true"), std::string::npos) << run.json;
  EXPECT_GE(result.count("requests"), 50u);
  EXPECT_LE(result.count("requests"), 101u);
  EXPECT_NEAR(result.number("rate_scheduled"), 200.0, 20.0);
  EXPECT_NE(run.out.find("STOPPED"), std::string::npos) << run.out;
}

TEST(LeveeBench, RefusesTargetsOffLoopbackAndBadScenarios) {
  TempDir dir;
  const auto scenario = write_file(dir.path() / "s.toml",
                                   "name = \"s\"\n[[phase]]\nkind = \"constant\"\nrate = 1\n"
                                   "duration = \"1s\"\n");
  BenchRun run = run_bench(scenario, {"--target", "http://10.1.2.3:80"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("not a loopback address"), std::string::npos) << run.err;

  const auto bad = write_file(dir.path() / "bad.toml", "name = \"b\"\n[[phase]]\nkind = \"x\"\n");
  run = run_bench(bad, {"--target", "http://127.0.0.1:1"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("bad.toml:3:"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("phase[0].kind"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace levee::testing
