// levee-bench: argv, the upstream accounting around one run, and the output — the run itself
// is bench::Runner. Prints a human summary and then one JSON line to stdout (the JSON line is
// also appended to --json-out). Exit status: 0 done; 1 answers did not match their requests
// (always) or any error with --fail-on-errors; 2 bad arguments or scenario; 3 the upstream's
// /__stats could not be read.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <exception>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "bench/report.hpp"
#include "bench/runner.hpp"
#include "bench/scenario_loader.hpp"
#include "bench/target.hpp"
#include "bench/upstream_stats.hpp"
#include "config/config_error.hpp"

namespace bench = levee::bench;

int main(int argc, char** argv) {
  CLI::App app{"levee-bench: open-loop HTTP load generator that verifies every answer"};
  std::string scenario_path;
  std::string target_url;
  std::string stats_url;
  std::string json_out;
  std::string label;
  std::vector<std::string> overrides;
  std::optional<std::uint64_t> requests;
  std::optional<std::uint64_t> connections;
  std::string max_duration;
  std::string mode;
  bool fail_on_errors = false;
  bool quiet = false;
  std::string progress = "auto";
  app.add_option("--scenario", scenario_path, "scenario file (TOML, see bench/README.md)")
      ->required();
  app.add_option("--target", target_url, "http://127.0.0.1:PORT (loopback only)")->required();
  app.add_option("--upstream-stats", stats_url,
                 "levee-upstream's http://127.0.0.1:PORT/__stats, read before and after");
  app.add_option("--json-out", json_out, "append the JSON result line to this file");
  app.add_option("--label", label, "name of the system or policy measured, for the reports");
  app.add_option("--set", overrides, "override a scenario key: --set phase.0.rate=2000")
      ->allow_extra_args(false);
  app.add_option("--requests", requests, "same as --set limits.max_requests=N");
  app.add_option("--max-duration", max_duration, "same as --set limits.max_duration=D");
  app.add_option("--connections", connections,
                 "closed loop: connections; open loop: limits.max_connections");
  app.add_option("--mode", mode, "same as --set mode=open|closed");
  app.add_flag("--fail-on-errors", fail_on_errors, "exit 1 when any request failed");
  app.add_flag("--quiet", quiet, "print only the JSON line");
  app.add_option("--progress", progress,
                 "live progress line: auto (when stdout is a terminal), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (requests) overrides.push_back("limits.max_requests=" + std::to_string(*requests));
  if (!max_duration.empty()) overrides.push_back("limits.max_duration=\"" + max_duration + "\"");
  if (!mode.empty()) overrides.push_back("mode=\"" + mode + "\"");

  bench::RunSettings settings;
  std::optional<bench::Target> stats_target;
  try {
    settings.scenario = bench::load_scenario_file(scenario_path, overrides);
    if (connections) {
      settings.scenario.connections = *connections;
      settings.scenario.limits.max_connections = *connections;
    }
    settings.target = bench::parse_target(target_url);
    if (!stats_url.empty()) stats_target = bench::parse_target(stats_url);
  } catch (const levee::config::ConfigErrors& errors) {
    std::fprintf(stderr, "levee-bench: invalid scenario:\n%s\n", errors.what());
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "levee-bench: %s\n", error.what());
    return 2;
  }
  settings.progress = progress == "on" || (progress == "auto" && !quiet && isatty(STDOUT_FILENO));
  std::signal(SIGPIPE, SIG_IGN);

  constexpr std::chrono::milliseconds k_stats_timeout{5000};
  std::optional<std::uint64_t> upstream_before;
  try {
    if (stats_target) upstream_before = bench::fetch_upstream_total(*stats_target, k_stats_timeout);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "levee-bench: %s\n", error.what());
    return 3;
  }

  const bench::ReportContext context{label, settings.scenario.name, target_url};
  bench::Runner runner(std::move(settings));
  bench::RunResult result = runner.run();

  if (upstream_before && stats_target) {
    try {
      const std::uint64_t after = bench::fetch_upstream_total(*stats_target, k_stats_timeout);
      result.upstream_calls = after >= *upstream_before ? after - *upstream_before : 0;
    } catch (const std::exception& error) {
      std::fprintf(stderr, "levee-bench: %s\n", error.what());
      return 3;
    }
  }

  const std::string json = bench::format_json_line(result, context);
  if (!quiet) std::fputs(bench::format_summary(result, context).c_str(), stdout);
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
  if (!json_out.empty()) {
    std::ofstream file(json_out, std::ios::app);
    file << json << '\n';
    if (!file) {
      std::fprintf(stderr, "levee-bench: cannot append to %s\n", json_out.c_str());
      return 2;
    }
  }
  if (result.error(bench::ErrorKind::mismatch) != 0) return 1;
  if (fail_on_errors && result.error_count() != 0) return 1;
  return 0;
}
