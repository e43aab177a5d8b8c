// [routes.collapse]'s fleet keys (docs/fleet.md): reading them, and the errors, each at its
// key and line: fleet = true without [cache]'s Redis, a fleet tuning key without fleet = true,
// zero or over-long durations, and fleet_max_bytes out of range.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "config/config_error.hpp"
#include "config/loader.hpp"

namespace levee::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

// Lines 1-7; the keys given to route() start on line 8.
constexpr const char* route_head = R"([upstreams.legacy]
address = "127.0.0.1:9000"
[[routes]]
name = "items"
upstream = "legacy"
mode = "collapse"
[routes.collapse]
)";

const std::string redis = "[cache]\nredis = \"127.0.0.1:6379\"\n";

std::string route(const std::string& collapse, const std::string& cache = redis) {
  return std::string(route_head) + collapse + cache;
}

Config load(const std::string& text) { return load_string(text, "test.toml", {}); }

std::vector<ConfigError> errors_of(const std::string& text) {
  try {
    (void)load(text);
  } catch (const ConfigErrors& errors) {
    return errors.errors;
  }
  ADD_FAILURE() << "expected the configuration to be rejected";
  return {};
}

// The only error, which must be about `key` at test.toml:line.
ConfigError only_error(const std::string& text, const std::string& key, std::size_t line) {
  const auto errors = errors_of(text);
  std::string listed;
  for (const ConfigError& error : errors) listed += "\n  " + error.to_string();
  EXPECT_EQ(errors.size(), 1u) << listed;
  if (errors.empty()) return {};
  EXPECT_EQ(errors.front().key, key) << listed;
  EXPECT_EQ(errors.front().line, line) << listed;
  return errors.front();
}

TEST(FleetConfig, IsOffByDefault) {
  const Config config = load(route(""));
  const CollapseConfig& collapse = config.routes[0].collapse;
  EXPECT_FALSE(collapse.fleet);
  EXPECT_EQ(collapse.lease_ttl, Duration{0});
  EXPECT_EQ(collapse.fleet_wait, Duration{0});
  EXPECT_EQ(collapse.fleet_stale, Duration{0});
  EXPECT_EQ(collapse.fleet_max_bytes, 1024u * 1024);
}

TEST(FleetConfig, ReadsEveryKey) {
  const Config config =
      load(route("fleet = true\nlease_ttl = \"3s\"\nfleet_wait = \"250ms\"\nfleet_stale = \"10s\"\n"
                 "fleet_max_bytes = \"64KiB\"\n"));
  const CollapseConfig& collapse = config.routes[0].collapse;
  EXPECT_TRUE(collapse.fleet);
  EXPECT_EQ(collapse.lease_ttl, seconds(3));
  EXPECT_EQ(collapse.fleet_wait, milliseconds(250));
  EXPECT_EQ(collapse.fleet_stale, seconds(10));
  EXPECT_EQ(collapse.fleet_max_bytes, 64u * 1024);
}

TEST(FleetConfig, WorksWithSentinelsInsteadOfOneRedis) {
  const Config config = load(route("fleet = true\n",
                                   "[cache]\nredis_sentinels = [\"127.0.0.1:26379\"]\n"
                                   "redis_master_name = \"mymaster\"\n"));
  EXPECT_TRUE(config.routes[0].collapse.fleet);
}

TEST(FleetConfig, FleetWithoutRedisIsAnErrorAtTheFleetKey) {
  const ConfigError error = only_error(route("fleet = true\n", ""), "routes[0].collapse.fleet", 8);
  EXPECT_THAT(error.message, HasSubstr("[cache]"));
  EXPECT_THAT(error.message, HasSubstr("redis"));
}

TEST(FleetConfig, FleetFalseNeedsNoRedis) {
  EXPECT_FALSE(load(route("fleet = false\n", "")).routes[0].collapse.fleet);
}

TEST(FleetConfig, FleetTuningKeysWithoutFleetAreErrors) {
  for (const std::string key : {"lease_ttl", "fleet_wait", "fleet_stale"}) {
    const ConfigError error =
        only_error(route(key + " = \"1s\"\n"), "routes[0].collapse." + key, 8);
    EXPECT_THAT(error.message, HasSubstr("fleet = true")) << key;
  }
  EXPECT_THAT(
      only_error(route("fleet_max_bytes = \"1KiB\"\n"), "routes[0].collapse.fleet_max_bytes", 8)
          .message,
      HasSubstr("fleet = true"));
  // fleet = false said out loud is the same as not saying it.
  EXPECT_THAT(
      only_error(route("fleet = false\nlease_ttl = \"1s\"\n"), "routes[0].collapse.lease_ttl", 9)
          .message,
      HasSubstr("fleet = true"));
}

TEST(FleetConfig, ZeroLeaseTtlAndFleetWaitAreRejected) {
  (void)only_error(route("fleet = true\nlease_ttl = \"0s\"\n"), "routes[0].collapse.lease_ttl", 9);
  (void)only_error(route("fleet = true\nfleet_wait = \"0ms\"\n"), "routes[0].collapse.fleet_wait",
                   9);
}

TEST(FleetConfig, ZeroFleetStaleMeansNeverStale) {
  const Config config = load(route("fleet = true\nfleet_stale = \"0s\"\n"));
  EXPECT_EQ(config.routes[0].collapse.fleet_stale, Duration{0});
}

TEST(FleetConfig, DurationsOverTenMinutesAreRejected) {
  for (const std::string key : {"lease_ttl", "fleet_wait", "fleet_stale"}) {
    EXPECT_TRUE(load(route("fleet = true\n" + key + " = \"10m\"\n")).routes[0].collapse.fleet)
        << key;
    const ConfigError error =
        only_error(route("fleet = true\n" + key + " = \"601s\"\n"), "routes[0].collapse." + key, 9);
    EXPECT_THAT(error.message, HasSubstr("at most")) << key;
  }
}

TEST(FleetConfig, FleetMaxBytesMustBeFromOneByteTo512MiB) {
  EXPECT_EQ(load(route("fleet = true\nfleet_max_bytes = \"512MiB\"\n"))
                .routes[0]
                .collapse.fleet_max_bytes,
            512u * 1024 * 1024);
  (void)only_error(route("fleet = true\nfleet_max_bytes = 0\n"),
                   "routes[0].collapse.fleet_max_bytes", 9);
  (void)only_error(route("fleet = true\nfleet_max_bytes = \"513MiB\"\n"),
                   "routes[0].collapse.fleet_max_bytes", 9);
}

TEST(FleetConfig, WrongTypesAreErrorsAtTheirKey) {
  (void)only_error(route("fleet = \"yes\"\n"), "routes[0].collapse.fleet", 8);
  (void)only_error(route("fleet = true\nlease_ttl = 5\n"), "routes[0].collapse.lease_ttl", 9);
}

}  // namespace
}  // namespace levee::config
