#include "bench/scenario_loader.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "bench/schedule.hpp"
#include "config/config_error.hpp"

namespace levee::bench {
namespace {

using config::ConfigErrors;

// The message of the ConfigErrors a load throws (empty when it does not throw).
std::string load_error(std::string_view text, const std::vector<std::string>& overrides = {}) {
  try {
    (void)load_scenario_text(text, "test.toml", overrides);
  } catch (const ConfigErrors& errors) {
    return errors.what();
  }
  return {};
}

constexpr std::string_view k_minimal = R"(
name = "tiny"
[[phase]]
kind = "constant"
rate = 100
duration = "1s"
)";

TEST(ScenarioLoader, EveryBundledScenarioLoads) {
  const std::filesystem::path dir = std::filesystem::path(LEVEE_SOURCE_DIR) / "bench/scenarios";
  int loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".toml") continue;
    SCOPED_TRACE(entry.path().string());
    Scenario scenario;
    ASSERT_NO_THROW(scenario = load_scenario_file(entry.path().string()));
    EXPECT_FALSE(scenario.name.empty());
    EXPECT_FALSE(scenario.description.empty());
    ++loaded;
  }
  EXPECT_GE(loaded, 8);
}

TEST(ScenarioLoader, SeedWorkloadsHaveTheirSizes) {
  const std::filesystem::path dir = std::filesystem::path(LEVEE_SOURCE_DIR) / "bench/scenarios";
  const Scenario waves = load_scenario_file((dir / "waves.toml").string());
  ASSERT_EQ(waves.phases.size(), 1u);
  EXPECT_EQ(phase_expected_requests(waves.phases[0]), 10'000.0);
  EXPECT_EQ(phase_duration(waves.phases[0]), std::chrono::seconds(10));

  const Scenario steps = load_scenario_file((dir / "k6_breaking_point.toml").string());
  ASSERT_EQ(steps.phases.size(), 8u);
  EXPECT_DOUBLE_EQ(steps.phases.front().rate_from, 1000.0);  // 100 clients at 10/s each
  EXPECT_DOUBLE_EQ(steps.phases.back().rate_from, 8000.0);   // 800 clients

  const Scenario users = load_scenario_file((dir / "hot_keys_users.toml").string());
  EXPECT_EQ(users.keys.distribution, KeyDistribution::zipf);
  EXPECT_EQ(users.keys.count, 1000u);
  EXPECT_EQ(users.request.users, 100u);
}

TEST(ScenarioLoader, DefaultsAndAllSections) {
  const Scenario scenario = load_scenario_text(R"(
name = "full"
description = "d"
seed = 9
verify = "id"
[[phase]]
kind = "waves"
waves = 3
size = 7
interval = "20ms"
[[phase]]
kind = "ramp"
from = 10
to = 20
duration = "2s"
arrival = "poisson"
[keys]
distribution = "uniform"
count = 50
[request]
method = "POST"
path = "/process"
body = '{"id":{seq}}'
users = 4
headers = { "X-Test" = "yes" }
[limits]
max_duration = "30s"
max_requests = 500
max_connections = 10
timeout = "2s"
)",
                                               "full.toml");
  EXPECT_EQ(scenario.seed, 9u);
  EXPECT_EQ(scenario.verify, Verification::id);
  ASSERT_EQ(scenario.phases.size(), 2u);
  EXPECT_EQ(scenario.phases[0].wave_size, 7u);
  EXPECT_EQ(scenario.phases[1].arrival, Arrival::poisson);
  EXPECT_EQ(scenario.keys.count, 50u);
  EXPECT_EQ(scenario.request.method, "POST");
  EXPECT_EQ(scenario.request.users, 4u);
  ASSERT_EQ(scenario.request.headers.size(), 1u);
  EXPECT_EQ(scenario.limits.max_requests, 500u);
  EXPECT_EQ(scenario.limits.max_connections, 10u);
  EXPECT_EQ(scenario.limits.timeout, std::chrono::seconds(2));
}

TEST(ScenarioLoader, ErrorsNameTheFileLineAndKey) {
  const std::string error = load_error(R"(
name = "bad"
[[phase]]
kind = "constant"
rate = -5
duration = "soon"
)");
  EXPECT_NE(error.find("test.toml:5:"), std::string::npos) << error;
  EXPECT_NE(error.find("phase[0].rate"), std::string::npos) << error;
  EXPECT_NE(error.find("test.toml:6:"), std::string::npos) << error;
  EXPECT_NE(error.find("phase[0].duration"), std::string::npos) << error;
}

TEST(ScenarioLoader, RejectsUnknownKeysKindsAndPlaceholders) {
  EXPECT_NE(load_error(std::string(k_minimal) + "ratee = 5\n").find("unknown key"),
            std::string::npos);
  EXPECT_NE(load_error("name = \"x\"\n[[phase]]\nkind = \"burst\"\n").find("expected one of"),
            std::string::npos);
  EXPECT_NE(load_error(std::string(k_minimal) + "[request]\npath = \"/a/{kee}\"\n")
                .find("unknown placeholder {kee}"),
            std::string::npos);
  EXPECT_NE(
      load_error(std::string(k_minimal) + "[request]\npath = \"nope\"\n").find("must start with /"),
      std::string::npos);
  EXPECT_NE(load_error("name = \"x\"\n").find("at least one [[phase]]"), std::string::npos);
  EXPECT_NE(load_error("name = \"x\"\n[[phase]]\nkind = \"constant\"\n").find("is required"),
            std::string::npos);
  EXPECT_NE(load_error("name = \"x\"\n[[phase]]\nkind = \"constant\"\nrate = 1\nclients = 2\n"
                       "duration = \"1s\"\n")
                .find("not both"),
            std::string::npos);
  EXPECT_NE(load_error("name = [").find("test.toml:1:"), std::string::npos);
}

TEST(ScenarioLoader, OverridesAreCheckedLikeTheFile) {
  const Scenario scenario = load_scenario_text(
      k_minimal, "t.toml",
      {"phase.0.rate=250", "phase.0.duration=2s", "limits.max_requests=7", "keys.count=3"});
  EXPECT_DOUBLE_EQ(scenario.phases[0].rate_from, 250.0);
  EXPECT_EQ(scenario.phases[0].duration, std::chrono::seconds(2));
  EXPECT_EQ(scenario.limits.max_requests, 7u);
  EXPECT_EQ(scenario.keys.count, 3u);

  EXPECT_NE(load_error(k_minimal, {"phase.0.rate=-1"}).find("phase[0].rate"), std::string::npos);
  EXPECT_NE(load_error(k_minimal, {"phase.4.rate=1"}).find("no element 4"), std::string::npos);
  EXPECT_NE(load_error(k_minimal, {"nonsense"}).find("expected KEY=VALUE"), std::string::npos);
}

TEST(ScenarioLoader, OverheadHeaderIsOffByDefaultAndSetFromTheFileOrTheCommandLine) {
  EXPECT_TRUE(load_scenario_text(k_minimal, "t.toml").overhead_header.empty());
  EXPECT_EQ(
      load_scenario_text(
          std::string("overhead_header = \"X-Levee-Batch\"\n") + std::string(k_minimal), "t.toml")
          .overhead_header,
      "X-Levee-Batch");
  EXPECT_EQ(
      load_scenario_text(k_minimal, "t.toml", {"overhead_header=X-Levee-Batch"}).overhead_header,
      "X-Levee-Batch");
  EXPECT_EQ(
      load_scenario_text(k_minimal, "t.toml", {"overhead_header=\"X-Timing\""}).overhead_header,
      "X-Timing");
  EXPECT_NE(
      load_error(k_minimal, {"overhead_header=\"X-Levee-Batch: items\""}).find("overhead_header"),
      std::string::npos);
  EXPECT_NE(load_error(k_minimal, {"overhead_header=5"}).find("expected a string"),
            std::string::npos);
}

TEST(ScenarioLoader, ClientsBecomeRates) {
  const Scenario scenario = load_scenario_text(R"(
name = "c"
[[phase]]
kind = "constant"
clients = 20
client_interval = "500ms"
duration = "1s"
)",
                                               "c.toml");
  EXPECT_DOUBLE_EQ(scenario.phases[0].rate_from, 40.0);
}

}  // namespace
}  // namespace levee::bench
