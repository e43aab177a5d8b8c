// Live configuration reload (issue 17.4) under steady load: levee-bench sends 2,000 requests a
// second over a pass, a collapse and a batch route while the test reloads levee 50 times,
// alternating two valid files (they differ in each route's shared state, so the slot table,
// the batcher and the admission pool are swapped under traffic) with an invalid one. No
// request fails or gets another request's answer, the invalid file is refused with its
// file:line:key and counted, and levee's resident memory stays flat.
//
// Synchronisation: each SIGHUP is answered by a stdout line `levee reload N ok|failed`;
// the load is known to run once the upstream has counted requests, and reloads are paced by
// the upstream's count (100 more requests between two), not by the clock. The load generators run
// open-loop for up to a minute and are stopped with SIGINT after the last reload: requests
// they had in flight then are reported `cut`, which is the generator's stop, not a failure.

#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "levee_fixture.hpp"
#include "support/polling.hpp"
#include "support/process.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

// A: the defaults; B: every route's shared state made differently.
std::string routes(bool variant_b) {
  return fmt::format(
      "[[routes]]\nname = \"pass\"\npath_prefix = \"/api/p/\"\nupstream = \"legacy\"\n"
      "max_pending = {}\n"
      "[[routes]]\nname = \"items\"\npath_prefix = \"/api/c/\"\nupstream = \"legacy\"\n"
      "mode = \"collapse\"\n[routes.collapse]\nmax_waiters = {}\n"
      "[[routes]]\nname = \"process\"\npath_prefix = \"/process\"\nmethods = [\"POST\"]\n"
      "upstream = \"legacy\"\nmode = \"batch\"\n[routes.batch]\n"
      "upstream_path = \"/process_batch\"\nmax_wait = \"2ms\"\nmax_batch_size = {}\n",
      variant_b ? 5000 : 10000, variant_b ? 50 : 100, variant_b ? 20 : 50);
}

std::string config_text(const UpstreamProcess& upstream, bool variant_b) {
  LeveeOptions options;
  options.routes = routes(variant_b);
  return make_config(options, upstream.address());
}

std::string scenario(const std::string& name, double rate, const std::string& request,
                     const std::string& verify, const std::string& keys) {
  return fmt::format(
      "name = \"{}\"\ndescription = \"steady load during reloads\"\nverify = \"{}\"\n"
      "[[phase]]\nkind = \"constant\"\nrate = {}\nduration = \"60s\"\n{}\n[request]\n{}\n",
      name, verify, rate, keys, request);
}

struct BenchResult {
  std::uint64_t requests = 0;
  std::uint64_t ok = 0;
  std::uint64_t mismatches = 0;
  std::uint64_t failed = 0;  // every error kind but `cut`
};

BenchResult stop_and_read(Process& bench) {
  bench.send_signal(SIGINT);
  EXPECT_EQ(bench.wait_exit(30s), 0) << bench.stdout_text() << bench.stderr_text();
  std::string text = bench.stdout_text();
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const std::string line =
      text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  BenchResult result;
  if (parser.parse(line).get(root) != simdjson::SUCCESS) {
    ADD_FAILURE() << "no JSON line from levee-bench: " << text;
    return result;
  }
  result.requests = std::uint64_t(root["requests"]);
  result.ok = std::uint64_t(root["ok"]);
  result.mismatches = std::uint64_t(root["mismatches"]);
  for (const char* kind : {"connect", "timeout", "io", "status", "mismatch", "overflow"}) {
    result.failed += std::uint64_t(root["errors_by_kind"][kind]);
  }
  return result;
}

std::uint64_t vm_rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6));
  }
  return 0;
}

TEST(Reload, FiftyReloadsUnderLoadFailNoRequestAndKeepMemoryFlat) {
  TempDir dir;
  UpstreamProcess upstream;
  const std::string path = write_file(dir.path() / "levee.toml", config_text(upstream, false));
  // Under AddressSanitizer a freed block is quarantined rather than reused, which would grow
  // VmRSS by itself; without the quarantine, growth means memory levee still holds. (The
  // variable is ignored by a build without the sanitizer.)
  const char* asan = std::getenv("ASAN_OPTIONS");
  LeveeProcess levee(
      path, {{"ASAN_OPTIONS", std::string(asan != nullptr ? asan : "") + ":quarantine_size_mb=0"}});
  const std::string target = "http://127.0.0.1:" + std::to_string(levee.port);

  const auto pass = write_file(dir.path() / "pass.toml",
                               scenario("pass", 800, "path = \"/api/p/{key}\"\nquery = \"n={seq}\"",
                                        "echo", "[keys]\ndistribution = \"uniform\"\ncount = 100"));
  const auto collapse = write_file(dir.path() / "collapse.toml",
                                   scenario("collapse", 600, "path = \"/api/c/{key}\"", "echo",
                                            "[keys]\ndistribution = \"uniform\"\ncount = 5"));
  const auto batch =
      write_file(dir.path() / "batch.toml",
                 scenario("batch", 600, "method = \"POST\"\npath = \"/process\"", "id", ""));
  std::vector<std::unique_ptr<Process>> benches;
  for (const auto& file : {pass, collapse, batch}) {
    benches.push_back(std::make_unique<Process>(
        binary_path("levee-bench"),
        std::vector<std::string>{"--scenario", file, "--target", target, "--progress", "off"}));
  }
  ASSERT_TRUE(eventually([&] { return upstream.stats().total >= 500; }, 30s))
      << "the load did not start";

  // The last table is the batch route's [routes.batch]: the key lands there, unknown.
  const std::string invalid =
      config_text(upstream, false) + "no_such_key = 1\n";  // last route's table
  std::uint64_t rss_warm = 0;
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  for (int i = 1; i <= 50; ++i) {
    // Paced by traffic, not time: at least 100 more requests reach the upstream between two
    // reloads, so each configuration serves requests and every swap happens under load.
    const std::uint64_t seen = upstream.stats().total;
    ASSERT_TRUE(eventually([&] { return upstream.stats().total >= seen + 100; }, 30s))
        << "the load stopped";
    const bool refused = i % 3 == 0;
    std::ofstream(path) << (refused ? invalid : config_text(upstream, i % 3 == 1));
    ASSERT_TRUE(levee.process.send_signal(SIGHUP));
    const std::string line =
        levee.process.wait_for_line("levee reload " + std::to_string(i) + " ", 60s);
    if (refused) {
      EXPECT_NE(line.find(" failed "), std::string::npos) << line;
      ++failed;
    } else {
      EXPECT_NE(line.find(" ok "), std::string::npos) << line << levee.process.stderr_text();
      ++ok;
    }
    if (i == 10) rss_warm = vm_rss_kib(levee.process.pid());
  }
  const std::uint64_t rss_end = vm_rss_kib(levee.process.pid());
  // The load was still running when the last reload took effect.
  for (const auto& bench : benches) EXPECT_TRUE(bench->running());

  std::vector<BenchResult> results;
  for (const auto& bench : benches) results.push_back(stop_and_read(*bench));
  for (const BenchResult& result : results) {
    EXPECT_GT(result.ok, 0u);
    EXPECT_EQ(result.failed, 0u);
    EXPECT_EQ(result.mismatches, 0u);
  }
  std::printf(
      "reload test: %llu/%llu/%llu requests ok (pass/collapse/batch), VmRSS %llu KiB "
      "after 10 reloads, %llu KiB after 50\n",
      static_cast<unsigned long long>(results[0].ok),
      static_cast<unsigned long long>(results[1].ok),
      static_cast<unsigned long long>(results[2].ok), static_cast<unsigned long long>(rss_warm),
      static_cast<unsigned long long>(rss_end));
  ASSERT_GT(rss_warm, 0u);
  EXPECT_LE(rss_end, rss_warm + rss_warm / 10) << "VmRSS grew more than 10 %";

  // Each refusal names the file, line and key, and is counted.
  EXPECT_NE(levee.process.stderr_text().find("reload refused: " + path + ":"), std::string::npos)
      << levee.process.stderr_text();
  EXPECT_NE(levee.process.stderr_text().find("no_such_key"), std::string::npos);
  EXPECT_EQ(metric_value(levee.admin_port, "levee_config_reloads_total{result=\"ok\"}"), ok);
  EXPECT_EQ(metric_value(levee.admin_port, "levee_config_reloads_total{result=\"failed\"}"),
            failed);
  const auto stats = http_get(levee.admin_port, "/stats");
  EXPECT_NE(stats.body.find("\"config_generation\":" + std::to_string(ok + 1) + ","),
            std::string::npos)
      << stats.body;

  // A clean drain after the reloads (and, under the sanitizers, no leak reported at exit).
  ASSERT_TRUE(levee.process.send_signal(SIGTERM));
  EXPECT_EQ(levee.process.wait_exit(60s), 0) << levee.process.stderr_text();
}

}  // namespace
}  // namespace levee::testing
