#include "config/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "config/config_error.hpp"

namespace levee::config {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

using Environment = std::map<std::string, std::string>;

// Raw strings start right after R"( so that line 1 of the TOML is the first line written.
constexpr const char* minimal_toml = R"([upstreams.legacy]
address = "127.0.0.1:9000"

[[routes]]
name = "all"
upstream = "legacy"
)";

Config load(std::string_view text, const Environment& environment = {}) {
  return load_string(text, "test.toml", environment);
}

std::vector<ConfigError> errors_of(std::string_view text, const Environment& environment = {}) {
  try {
    (void)load(text, environment);
  } catch (const ConfigErrors& errors) {
    return errors.errors;
  }
  ADD_FAILURE() << "expected the configuration to be rejected";
  return {};
}

std::string describe(const std::vector<ConfigError>& errors) {
  std::string text;
  for (const ConfigError& error : errors) text += "\n  " + error.to_string();
  return text;
}

// The single error about `key`; fails the test unless there is exactly one.
ConfigError error_for(const std::vector<ConfigError>& errors, std::string_view key) {
  const auto count = std::count_if(errors.begin(), errors.end(),
                                   [&](const ConfigError& error) { return error.key == key; });
  if (count != 1) {
    ADD_FAILURE() << count << " errors for key " << key << " in:" << describe(errors);
    return {};
  }
  return *std::find_if(errors.begin(), errors.end(),
                       [&](const ConfigError& error) { return error.key == key; });
}

// Expects exactly one error, about `key` at test.toml:line, and returns it.
ConfigError only_error(std::string_view text, std::string_view key, std::size_t line) {
  const auto errors = errors_of(text);
  EXPECT_EQ(errors.size(), 1u) << describe(errors);
  const ConfigError error = error_for(errors, key);
  EXPECT_EQ(error.file, "test.toml");
  EXPECT_EQ(error.line, line) << error.to_string();
  return error;
}

// A valid configuration followed by `extra` routes/upstreams; extra starts on line 7.
std::string minimal_plus(std::string_view extra) {
  return std::string(minimal_toml) + std::string(extra);
}

unsigned hardware_workers() { return std::max(1U, std::thread::hardware_concurrency()); }

// ----------------------------------------------------------------------------- good configs

TEST(ConfigLoader, MinimalConfigTakesDefaults) {
  const Config config = load(minimal_toml);
  EXPECT_EQ(config.source, "test.toml");

  const ServerConfig defaults;
  EXPECT_EQ(config.server.listen.host, "127.0.0.1");
  EXPECT_EQ(config.server.listen.port, 8080);
  EXPECT_EQ(config.server.admin_listen.port, 9901);
  EXPECT_EQ(config.server.workers, hardware_workers());
  EXPECT_EQ(config.server.drain_timeout, defaults.drain_timeout);
  EXPECT_EQ(config.server.max_connections, defaults.max_connections);
  EXPECT_EQ(config.server.max_header_bytes, 16u * 1024);
  EXPECT_EQ(config.server.max_body_bytes, 1024u * 1024);
  EXPECT_EQ(config.server.header_timeout, defaults.header_timeout);
  EXPECT_EQ(config.server.body_timeout, defaults.body_timeout);
  EXPECT_EQ(config.server.idle_timeout, defaults.idle_timeout);
  EXPECT_EQ(config.log.level, "info");
  EXPECT_EQ(config.log.access_log, "");

  ASSERT_EQ(config.upstreams.size(), 1u);
  const UpstreamConfig& upstream = config.upstreams[0];
  EXPECT_EQ(upstream.name, "legacy");
  EXPECT_EQ(upstream.address.to_string(), "127.0.0.1:9000");
  EXPECT_EQ(upstream.connect_timeout, Duration(1s));
  EXPECT_EQ(upstream.request_timeout, Duration(5s));
  EXPECT_EQ(upstream.max_idle_connections, 64u);
  EXPECT_EQ(upstream.idle_timeout, Duration(30s));
  EXPECT_EQ(upstream.max_response_bytes, 64ull * 1024 * 1024);

  ASSERT_EQ(config.routes.size(), 1u);
  const RouteConfig& route = config.routes[0];
  EXPECT_EQ(route.name, "all");
  EXPECT_EQ(route.host, "");
  EXPECT_EQ(route.path_prefix, "/");
  EXPECT_TRUE(route.methods.empty());
  EXPECT_EQ(route.upstream, "legacy");
  EXPECT_EQ(route.mode, RouteMode::pass);
}

TEST(ConfigLoader, FullConfigReadsEveryKey) {
  const Config config = load(R"([server]
listen = "0.0.0.0:8081"
admin_listen = "[::1]:9902"
workers = 3
drain_timeout = "0"
max_connections = 500
max_header_bytes = "8KiB"
max_body_bytes = 2048
header_timeout = "1.5s"
body_timeout = "250ms"
idle_timeout = "1m"

[log]
level = "debug"
access_log = "/tmp/access.jsonl"

[upstreams.legacy]
address = "localhost:9000"
connect_timeout = "100ms"
request_timeout = "2s"
max_idle_connections = 0
idle_timeout = "1h"
max_response_bytes = "10MB"

[upstreams.fast-1]
address = "10.0.0.2:80"

[[routes]]
name = "items"
host = "API.Example.com"
path_prefix = "/api/"
methods = ["GET", "HEAD"]
upstream = "fast-1"
mode = "pass"

[[routes]]
name = "rest"
upstream = "legacy"
)");
  EXPECT_EQ(config.server.listen.to_string(), "0.0.0.0:8081");
  EXPECT_EQ(config.server.admin_listen.host, "::1");
  EXPECT_EQ(config.server.admin_listen.to_string(), "[::1]:9902");
  EXPECT_EQ(config.server.workers, 3u);
  EXPECT_EQ(config.server.drain_timeout, Duration::zero());
  EXPECT_EQ(config.server.max_connections, 500u);
  EXPECT_EQ(config.server.max_header_bytes, 8u * 1024);
  EXPECT_EQ(config.server.max_body_bytes, 2048u);
  EXPECT_EQ(config.server.header_timeout, Duration(1500ms));
  EXPECT_EQ(config.server.body_timeout, Duration(250ms));
  EXPECT_EQ(config.server.idle_timeout, Duration(1min));
  EXPECT_EQ(config.log.level, "debug");
  EXPECT_EQ(config.log.access_log, "/tmp/access.jsonl");

  const UpstreamConfig* legacy = config.find_upstream("legacy");
  ASSERT_NE(legacy, nullptr);
  EXPECT_EQ(legacy->address.host, "localhost");
  EXPECT_EQ(legacy->address.port, 9000);
  EXPECT_EQ(legacy->connect_timeout, Duration(100ms));
  EXPECT_EQ(legacy->request_timeout, Duration(2s));
  EXPECT_EQ(legacy->max_idle_connections, 0u);
  EXPECT_EQ(legacy->idle_timeout, Duration(1h));
  EXPECT_EQ(legacy->max_response_bytes, 10'000'000u);
  ASSERT_NE(config.find_upstream("fast-1"), nullptr);
  EXPECT_EQ(config.find_upstream("fast-1")->address.to_string(), "10.0.0.2:80");
  EXPECT_EQ(config.find_upstream("missing"), nullptr);

  ASSERT_EQ(config.routes.size(), 2u);
  EXPECT_EQ(config.routes[0].name, "items");
  EXPECT_EQ(config.routes[0].host, "api.example.com");
  EXPECT_EQ(config.routes[0].path_prefix, "/api/");
  EXPECT_EQ(config.routes[0].methods, (std::vector<std::string>{"GET", "HEAD"}));
  EXPECT_EQ(config.routes[0].upstream, "fast-1");
  EXPECT_EQ(config.routes[1].name, "rest");
  EXPECT_EQ(config.routes[1].path_prefix, "/");
}

TEST(ConfigLoader, WorkersZeroMeansHardwareThreads) {
  const Config config = load("[server]\nworkers = 0\n" + std::string(minimal_toml));
  EXPECT_EQ(config.server.workers, hardware_workers());
  EXPECT_GE(config.server.workers, 1u);
}

TEST(ConfigLoader, EphemeralPortsMayShareAHost) {
  const Config config =
      load("[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n" +
           std::string(minimal_toml));
  EXPECT_EQ(config.server.listen.port, 0);
  EXPECT_EQ(config.server.admin_listen.port, 0);
}

TEST(ConfigLoader, AcceptsDottedKeysAndInlineTables) {
  const Config config = load(R"(server.workers = 5
upstreams = { legacy = { address = "127.0.0.1:9000" } }
routes = [ { name = "all", upstream = "legacy" } ]
)");
  EXPECT_EQ(config.server.workers, 5u);
  EXPECT_EQ(config.routes.at(0).upstream, "legacy");
}

TEST(ConfigLoader, LoadsTheExampleFile) {
  const Config config = load_file(std::string(LEVEE_SOURCE_DIR) + "/examples/levee.toml");
  EXPECT_THAT(config.source, HasSubstr("examples/levee.toml"));
  EXPECT_EQ(config.server.listen.to_string(), "127.0.0.1:8080");
  EXPECT_EQ(config.server.admin_listen.to_string(), "127.0.0.1:9901");
  EXPECT_EQ(config.server.workers, 2u);
  ASSERT_EQ(config.upstreams.size(), 1u);
  EXPECT_EQ(config.upstreams[0].name, "legacy");
  EXPECT_EQ(config.upstreams[0].address.to_string(), "127.0.0.1:9000");
  ASSERT_EQ(config.routes.size(), 2u);
  EXPECT_EQ(config.routes[0].name, "api");
  EXPECT_EQ(config.routes[0].path_prefix, "/api/");
  EXPECT_TRUE(config.routes[0].methods.empty());
  EXPECT_EQ(config.routes[1].name, "process");
  EXPECT_EQ(config.routes[1].path_prefix, "/process");
  EXPECT_EQ(config.routes[1].methods, std::vector<std::string>{"POST"});
  for (const RouteConfig& route : config.routes) EXPECT_EQ(route.upstream, "legacy");
  EXPECT_EQ(config.routes[0].mode, RouteMode::collapse);
  EXPECT_TRUE(config.routes[0].collapse.debug_header);
  EXPECT_EQ(config.routes[1].mode, RouteMode::batch);
  EXPECT_EQ(config.routes[1].batch.upstream_path, "/process_batch");
}

TEST(ConfigLoader, MissingFileIsAnError) {
  try {
    (void)load_file("/nonexistent/levee.toml");
    FAIL() << "expected ConfigErrors";
  } catch (const ConfigErrors& errors) {
    ASSERT_EQ(errors.errors.size(), 1u);
    EXPECT_EQ(errors.errors[0].file, "/nonexistent/levee.toml");
    EXPECT_THAT(errors.what(), HasSubstr("cannot open"));
  }
}

// ------------------------------------------------------------------------------ error format

TEST(ConfigErrorFormat, NamesFileLineColumnAndKey) {
  EXPECT_EQ((ConfigError{"levee.toml", 3, 7, "server.workers", "bad"}).to_string(),
            "levee.toml:3:7: server.workers: bad");
  EXPECT_EQ((ConfigError{"levee.toml", 3, 0, "server.workers", "bad"}).to_string(),
            "levee.toml:3: server.workers: bad");
  EXPECT_EQ(
      (ConfigError{"environment variable LEVEE_SERVER__WORKERS", 0, 0, "server.workers", "bad"})
          .to_string(),
      "environment variable LEVEE_SERVER__WORKERS: server.workers: bad");
  EXPECT_EQ((ConfigError{"levee.toml", 1, 2, "", "syntax"}).to_string(), "levee.toml:1:2: syntax");
}

TEST(ConfigErrorFormat, WhatJoinsAllErrors) {
  const ConfigErrors errors({{"a.toml", 1, 1, "x", "one"}, {"a.toml", 2, 1, "y", "two"}});
  EXPECT_STREQ(errors.what(), "a.toml:1:1: x: one\na.toml:2:1: y: two");
  EXPECT_EQ(errors.errors.size(), 2u);
}

// ------------------------------------------------------------------------------ bad configs

TEST(ConfigLoader, SyntaxErrorNamesFileAndLine) {
  try {
    (void)load("[server]\nworkers = 2\nlisten = \"127.0.0.1:80\n", {});
    FAIL() << "expected ConfigErrors";
  } catch (const ConfigErrors& errors) {
    ASSERT_EQ(errors.errors.size(), 1u);
    EXPECT_EQ(errors.errors[0].file, "test.toml");
    EXPECT_EQ(errors.errors[0].line, 3u);
    EXPECT_THAT(errors.errors[0].message, HasSubstr("TOML syntax error"));
    EXPECT_THAT(errors.what(), HasSubstr("test.toml:3:"));
  }
}

TEST(ConfigLoader, UnknownTopLevelKey) {
  const auto error = only_error(minimal_plus("colour = \"red\"\n"), "routes[0].colour", 7);
  EXPECT_THAT(error.message, HasSubstr("unknown key"));
  const auto top = only_error("tracing = 1\n" + std::string(minimal_toml), "tracing", 1);
  EXPECT_EQ(top.column, 1u);
  EXPECT_THAT(top.message, HasSubstr("unknown key"));
  EXPECT_THAT(top.message, HasSubstr("server, log, upstreams, routes, cache, telemetry"));
}

TEST(ConfigLoader, UnknownNestedKey) {
  const auto error =
      only_error("[server]\nworkers = 2\nlisten_address = \"x\"\n" + std::string(minimal_toml),
                 "server.listen_address", 3);
  EXPECT_EQ(error.column, 1u);
  EXPECT_THAT(error.message, HasSubstr("unknown key"));
  EXPECT_THAT(error.message, HasSubstr("admin_listen"));

  only_error("[log]\nlevel = \"info\"\nformat = \"json\"\n" + std::string(minimal_toml),
             "log.format", 3);
  only_error(R"([upstreams.legacy]
address = "127.0.0.1:9000"
timeout = "1s"
[[routes]]
name = "all"
upstream = "legacy"
)",
             "upstreams.legacy.timeout", 3);
}

TEST(ConfigLoader, UnknownKeyInARoute) {
  const auto errors = errors_of(minimal_plus(R"([[routes]]
name = "second"
upstrem = "legacy"
)"));
  ASSERT_EQ(errors.size(), 2u) << describe(errors);
  EXPECT_EQ(error_for(errors, "routes[1].upstrem").line, 9u);
  EXPECT_THAT(error_for(errors, "routes[1].upstrem").message, HasSubstr("unknown key"));
  EXPECT_EQ(error_for(errors, "routes[1].upstream").line, 7u);  // the [[routes]] header
  EXPECT_THAT(error_for(errors, "routes[1].upstream").message, HasSubstr("missing"));
}

TEST(ConfigLoader, WrongTomlTypes) {
  EXPECT_THAT(
      only_error("[server]\nworkers = \"2\"\n" + std::string(minimal_toml), "server.workers", 2)
          .message,
      HasSubstr("expected an integer, found a string"));
  EXPECT_THAT(
      only_error("[server]\nlisten = 8080\n" + std::string(minimal_toml), "server.listen", 2)
          .message,
      HasSubstr("found an integer"));
  EXPECT_THAT(only_error("[log]\nlevel = 3\n" + std::string(minimal_toml), "log.level", 2).message,
              HasSubstr("expected a string, found an integer"));
  EXPECT_THAT(only_error("server = 3\n" + std::string(minimal_toml), "server", 1).message,
              HasSubstr("expected a table"));
  EXPECT_THAT(only_error(minimal_plus("[[routes]]\nname = \"x\"\nupstream = \"legacy\"\n"
                                      "methods = \"GET\"\n"),
                         "routes[1].methods", 10)
                  .message,
              HasSubstr("expected an array of strings"));
  EXPECT_THAT(only_error(minimal_plus("[[routes]]\nname = \"x\"\nupstream = \"legacy\"\n"
                                      "methods = [\"GET\", 1]\n"),
                         "routes[1].methods[1]", 10)
                  .message,
              HasSubstr("expected a string, found an integer"));
  EXPECT_THAT(only_error(R"([upstreams.legacy]
address = "127.0.0.1:9000"
[routes]
name = "all"
)",
                         "routes", 3)
                  .message,
              HasSubstr("expected an array of tables"));
  EXPECT_THAT(only_error(R"(upstreams = ["a"]
[[routes]]
name = "all"
upstream = "legacy"
)",
                         "upstreams", 1)
                  .message,
              HasSubstr("expected a table of upstreams"));
}

TEST(ConfigLoader, DurationWithoutUnitSaysToAddOne) {
  const auto error = only_error("[server]\ndrain_timeout = 10\n" + std::string(minimal_toml),
                                "server.drain_timeout", 2);
  EXPECT_THAT(error.message, HasSubstr("use a string with a unit such as \"50ms\""));
  EXPECT_EQ(error.column, 17u);
  EXPECT_THAT(only_error("[server]\nheader_timeout = \"10\"\n" + std::string(minimal_toml),
                         "server.header_timeout", 2)
                  .message,
              HasSubstr("missing unit"));
}

TEST(ConfigLoader, BadDurations) {
  const auto errors = errors_of(R"([server]
header_timeout = "-1s"
body_timeout = "0s"
idle_timeout = "soon"
drain_timeout = "1.5 s"
[upstreams.legacy]
address = "127.0.0.1:9000"
connect_timeout = "0"
request_timeout = "99999999999h"
idle_timeout = 1.5
[[routes]]
name = "all"
upstream = "legacy"
)");
  ASSERT_EQ(errors.size(), 7u) << describe(errors);
  EXPECT_THAT(error_for(errors, "server.header_timeout").message, HasSubstr("negative"));
  EXPECT_EQ(error_for(errors, "server.header_timeout").line, 2u);
  EXPECT_THAT(error_for(errors, "server.body_timeout").message, HasSubstr("greater than 0"));
  EXPECT_THAT(error_for(errors, "server.idle_timeout").message, HasSubstr("invalid duration"));
  EXPECT_EQ(error_for(errors, "server.drain_timeout").line, 5u);
  EXPECT_EQ(error_for(errors, "upstreams.legacy.connect_timeout").line, 8u);
  EXPECT_THAT(error_for(errors, "upstreams.legacy.connect_timeout").message,
              HasSubstr("greater than 0"));
  EXPECT_THAT(error_for(errors, "upstreams.legacy.request_timeout").message,
              HasSubstr("too large"));
  EXPECT_THAT(error_for(errors, "upstreams.legacy.idle_timeout").message,
              HasSubstr("found a float"));
  // Sorted by position in the file.
  for (std::size_t i = 1; i < errors.size(); ++i) EXPECT_LT(errors[i - 1].line, errors[i].line);
}

TEST(ConfigLoader, BadSizes) {
  const auto errors = errors_of(R"([server]
max_header_bytes = "16kb"
max_body_bytes = -1
[upstreams.legacy]
address = "127.0.0.1:9000"
max_response_bytes = "99999999999999999999GiB"
[[routes]]
name = "all"
upstream = "legacy"
)");
  ASSERT_EQ(errors.size(), 3u) << describe(errors);
  EXPECT_THAT(error_for(errors, "server.max_header_bytes").message,
              HasSubstr("invalid size \"16kb\""));
  EXPECT_EQ(error_for(errors, "server.max_header_bytes").line, 2u);
  EXPECT_THAT(error_for(errors, "server.max_body_bytes").message, HasSubstr("negative"));
  EXPECT_THAT(error_for(errors, "upstreams.legacy.max_response_bytes").message,
              HasSubstr("too large"));
}

TEST(ConfigLoader, OutOfRangeValues) {
  const auto errors = errors_of(R"([server]
workers = 257
max_connections = 0
max_header_bytes = 100
max_body_bytes = "5GiB"
[upstreams.legacy]
address = "127.0.0.1:9000"
max_idle_connections = 100001
[[routes]]
name = "all"
upstream = "legacy"
)");
  ASSERT_EQ(errors.size(), 5u) << describe(errors);
  EXPECT_THAT(error_for(errors, "server.workers").message, HasSubstr("from 0 to 256"));
  EXPECT_THAT(error_for(errors, "server.workers").message, HasSubstr("got 257"));
  EXPECT_EQ(error_for(errors, "server.max_connections").line, 3u);
  EXPECT_THAT(error_for(errors, "server.max_header_bytes").message,
              HasSubstr("must be from 1KiB to 1MiB, got 100B"));
  EXPECT_THAT(error_for(errors, "server.max_body_bytes").message, HasSubstr("4GiB"));
  EXPECT_EQ(error_for(errors, "upstreams.legacy.max_idle_connections").line, 8u);
}

TEST(ConfigLoader, MissingRequiredKeys) {
  const auto errors = errors_of(R"([upstreams.legacy]
connect_timeout = "1s"
[[routes]]
path_prefix = "/"
)");
  ASSERT_EQ(errors.size(), 3u) << describe(errors);
  EXPECT_EQ(error_for(errors, "upstreams.legacy.address").line, 1u);
  EXPECT_EQ(error_for(errors, "routes[0].name").line, 3u);
  EXPECT_EQ(error_for(errors, "routes[0].upstream").line, 3u);
}

TEST(ConfigLoader, NeedsAnUpstreamAndARoute) {
  const auto errors = errors_of("");
  ASSERT_EQ(errors.size(), 2u) << describe(errors);
  EXPECT_THAT(error_for(errors, "upstreams").message, HasSubstr("at least one upstream"));
  EXPECT_THAT(error_for(errors, "routes").message, HasSubstr("at least one route"));
  EXPECT_EQ(error_for(errors, "routes").file, "test.toml");
  EXPECT_EQ(error_for(errors, "routes").line, 0u);
}

TEST(ConfigLoader, DuplicateRouteName) {
  const auto error = only_error(minimal_plus("[[routes]]\nname = \"all\"\nupstream = \"legacy\"\n"),
                                "routes[1].name", 8);
  EXPECT_THAT(error.message, HasSubstr("duplicate route name \"all\""));
  EXPECT_THAT(error.message, HasSubstr("routes[0]"));
}

TEST(ConfigLoader, UndefinedUpstream) {
  const auto error = only_error(minimal_plus("[[routes]]\nname = \"b\"\nupstream = \"nope\"\n"),
                                "routes[1].upstream", 9);
  EXPECT_THAT(error.message, HasSubstr("no upstream named \"nope\""));
  EXPECT_THAT(error.message, HasSubstr("legacy"));
}

TEST(ConfigLoader, BadListenAddresses) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"localhost", "missing \\\":port\\\""},
      {"127.0.0.1:70000", "0 to 65535"},
      {"127.0.0.1:http", "0 to 65535"},
      {"127.0.0.1:", "0 to 65535"},
      {"::1:80", "brackets"},
      {":80", "missing host"},
      {"[::1]80", "after ']'"},
      {"[::1:80", "missing ']'"},
      {"my host:80", "characters"},
  };
  for (const auto& [address, reason] : cases) {
    const std::string text = "[server]\nlisten = \"" + address + "\"\n" + std::string(minimal_toml);
    const auto errors = errors_of(text);
    ASSERT_EQ(errors.size(), 1u) << address << describe(errors);
    EXPECT_EQ(errors[0].key, "server.listen");
    EXPECT_EQ(errors[0].line, 2u);
    EXPECT_THAT(errors[0].message, HasSubstr("invalid address"));
  }
  EXPECT_FALSE(parse_endpoint("localhost").has_value());
  ASSERT_TRUE(parse_endpoint("[fe80::1%eth0]:443").has_value());
  EXPECT_EQ(parse_endpoint("[fe80::1%eth0]:443")->host, "fe80::1%eth0");
  EXPECT_EQ(parse_endpoint("example.com:65535")->port, 65535);
}

TEST(ConfigLoader, ListenAndAdminMustDiffer) {
  const auto error =
      only_error("[server]\nlisten = \"127.0.0.1:9000\"\nadmin_listen = \"127.0.0.1:9000\"\n" +
                     std::string(minimal_toml),
                 "server.admin_listen", 3);
  EXPECT_THAT(error.message, HasSubstr("must differ"));
  // Against the default admin address, the error points at the listen the file wrote.
  only_error("[server]\nlisten = \"127.0.0.1:9901\"\n" + std::string(minimal_toml), "server.listen",
             2);
}

TEST(ConfigLoader, UnknownModesAndBatchWithoutItsTableAreRejected) {
  const auto error = only_error(
      minimal_plus("[[routes]]\nname = \"b\"\nupstream = \"legacy\"\nmode = \"batch\"\n"),
      "routes[1].mode", 10);
  EXPECT_EQ(error.message, "mode = \"batch\" needs a [routes.batch] table with upstream_path");
  EXPECT_THAT(only_error(minimal_plus("[[routes]]\nname = \"b\"\nupstream = \"legacy\"\n"
                                      "mode = \"fast\"\n"),
                         "routes[1].mode", 10)
                  .message,
              HasSubstr("unknown mode \"fast\""));
}

TEST(ConfigLoader, CollapseRoutesAndTheirTable) {
  const Config defaults =
      load(minimal_plus("[[routes]]\nname = \"c\"\nupstream = \"legacy\"\nmode = \"collapse\"\n"));
  ASSERT_EQ(defaults.routes.size(), 2u);
  EXPECT_EQ(defaults.routes[1].mode, RouteMode::collapse);
  EXPECT_EQ(defaults.routes[1].collapse.max_waiters, 100u);
  EXPECT_EQ(defaults.routes[1].collapse.methods, (std::vector<std::string>{"GET", "HEAD"}));
  EXPECT_EQ(defaults.routes[1].collapse.vary.front(), "authorization");

  const Config tuned =
      load(minimal_plus("[[routes]]\nname = \"c\"\nupstream = \"legacy\"\nmode = \"collapse\"\n"
                        "[routes.collapse]\nstrategy = \"inflight\"\nmax_waiters = 5\n"
                        "max_slots = 7\nvary = [\"Authorization\", \"X-Tenant\"]\n"
                        "methods = [\"GET\", \"POST\"]\n"));
  const CollapseConfig& collapse = tuned.routes[1].collapse;
  EXPECT_EQ(collapse.max_waiters, 5u);
  EXPECT_EQ(collapse.max_slots, 7u);
  EXPECT_EQ(collapse.vary, (std::vector<std::string>{"authorization", "x-tenant"}));
  EXPECT_EQ(collapse.methods, (std::vector<std::string>{"GET", "POST"}));
}

TEST(ConfigLoader, CollapseWindowStrategy) {
  const Config config =
      load(minimal_plus("[[routes]]\nname = \"c\"\nupstream = \"legacy\"\nmode = \"collapse\"\n"
                        "[routes.collapse]\nstrategy = \"window\"\npolicy = \"size\"\n"
                        "max_wait = \"20ms\"\nmax_waiters = 127\n"));
  const CollapseConfig& collapse = config.routes[1].collapse;
  EXPECT_EQ(collapse.strategy, CollapseStrategy::window);
  EXPECT_EQ(collapse.policy, FlushPolicy::size);
  EXPECT_EQ(collapse.max_wait, std::chrono::milliseconds(20));
  EXPECT_EQ(collapse.max_waiters, 127u);
}

TEST(ConfigLoader, CollapsePresetsAndTheirOverrides) {
  auto collapse_with = [](const std::string& table) {
    return load(
               minimal_plus("[[routes]]\nname = \"c\"\nupstream = \"legacy\"\nmode = \"collapse\"\n"
                            "[routes.collapse]\n" +
                            table))
        .routes[1]
        .collapse;
  };
  const CollapseConfig fast = collapse_with("preset = \"low_latency\"\n");
  EXPECT_EQ(fast.max_wait, std::chrono::milliseconds(10));
  EXPECT_EQ(fast.max_waiters, 50u);
  EXPECT_EQ(fast.max_slots, 5000u);
  const CollapseConfig busy = collapse_with("preset = \"high_throughput\"\nmax_waiters = 7\n");
  EXPECT_EQ(busy.max_wait, std::chrono::milliseconds(100));
  EXPECT_EQ(busy.max_waiters, 7u);  // a key next to the preset wins
  EXPECT_EQ(busy.max_slots, 50000u);
  EXPECT_TRUE(busy.enabled);
  EXPECT_FALSE(collapse_with("preset = \"disabled\"\n").enabled);
  EXPECT_EQ(collapse_with("leader_age = \"2s\"\n").leader_age, std::chrono::seconds(2));
  EXPECT_EQ(collapse_with("").leader_age, Duration::zero());
  const CollapseConfig plain = collapse_with("preset = \"default\"\n");
  EXPECT_EQ(plain.max_waiters, 100u);
  EXPECT_EQ(plain.max_wait, std::chrono::milliseconds(50));
}

TEST(ConfigLoader, CollapseTableErrorsNameTheirKey) {
  const std::string route =
      "[[routes]]\nname = \"c\"\nupstream = \"legacy\"\nmode = \"collapse\"\n"
      "[routes.collapse]\n";
  EXPECT_THAT(
      only_error(minimal_plus(route + "strategy = \"fast\"\n"), "routes[1].collapse.strategy", 12)
          .message,
      HasSubstr("unknown strategy"));
  EXPECT_THAT(only_error(minimal_plus(route + "strategy = \"window\"\npolicy = \"learned\"\n"),
                         "routes[1].collapse.policy", 13)
                  .message,
              HasSubstr("needs model"));
  EXPECT_THAT(
      only_error(minimal_plus(route + "tick = \"1ms\"\n"), "routes[1].collapse.tick", 12).message,
      HasSubstr("applies only to strategy = \"window\""));
  EXPECT_THAT(only_error(minimal_plus(route + "strategy = \"window\"\nreduction_slack = 0.01\n"),
                         "routes[1].collapse.reduction_slack", 13)
                  .message,
              HasSubstr("applies only to policy = \"adaptive\" or \"learned\""));
  EXPECT_THAT(
      only_error(minimal_plus(route + "max_wait = \"10ms\"\n"), "routes[1].collapse.max_wait", 12)
          .message,
      HasSubstr("applies only to strategy = \"window\""));
  EXPECT_THAT(only_error(minimal_plus(route + "strategy = \"window\"\nmax_wait = \"2m\"\n"),
                         "routes[1].collapse.max_wait", 13)
                  .message,
              HasSubstr("at most 60s"));
  EXPECT_THAT(
      only_error(minimal_plus(route + "max_waiters = 0\n"), "routes[1].collapse.max_waiters", 12)
          .message,
      HasSubstr("must be from 1"));
  EXPECT_THAT(
      only_error(minimal_plus(route + "vary = [\"bad name\"]\n"), "routes[1].collapse.vary[0]", 12)
          .message,
      HasSubstr("header name"));
  EXPECT_THAT(only_error(minimal_plus(route + "wait = 1\n"), "routes[1].collapse.wait", 12).message,
              HasSubstr("unknown key"));
  EXPECT_THAT(only_error(minimal_plus("[[routes]]\nname = \"p\"\nupstream = \"legacy\"\n"
                                      "[routes.collapse]\nmax_slots = 3\n"),
                         "routes[1].collapse", 10)
                  .message,
              HasSubstr("applies only to mode = \"collapse\""));
}

const std::string batch_route =
    "[[routes]]\nname = \"b\"\nupstream = \"legacy\"\nmode = \"batch\"\n[routes.batch]\n"
    "upstream_path = \"/process_batch\"\n";  // the table's keys start on line 13

TEST(ConfigLoader, BatchRoutesAndTheirTable) {
  const Config defaults = load(minimal_plus(batch_route));
  const RouteConfig& plain = defaults.routes[1];
  EXPECT_EQ(plain.mode, RouteMode::batch);
  EXPECT_EQ(plain.batch.upstream_path, "/process_batch");
  EXPECT_EQ(plain.batch.max_batch_size, 100u);
  EXPECT_EQ(plain.batch.max_wait, std::chrono::milliseconds(10));
  EXPECT_EQ(plain.batch.payload, BatchPayload::json_array);
  EXPECT_EQ(plain.batch.demux, BatchDemux::position);
  EXPECT_EQ(plain.max_pending, 0u);

  const Config tuned = load(minimal_plus(
      "[[routes]]\nname = \"b\"\nupstream = \"legacy\"\nmode = \"batch\"\nmax_pending = 500\n"
      "admission_timeout = \"20ms\"\n[routes.batch]\nupstream_path = \"/v1/batch\"\n"
      "max_batch_size = 50\nmax_batch_bytes = \"256KiB\"\nmax_item_bytes = \"4KiB\"\n"
      "max_wait = \"5ms\"\npolicy = \"size\"\nmax_inflight_batches = 2\nmax_queued_batches = 0\n"
      "payload = \"wrapped\"\nwrap_path = \"data.requests\"\nresults_path = \"results\"\n"
      "demux = \"id\"\nid_field = \"key\"\nitem_error_field = \"error\"\n"
      "item_error_status = 422\ndebug_header = true\n"));
  const RouteConfig& route = tuned.routes[1];
  EXPECT_EQ(route.max_pending, 500u);
  EXPECT_EQ(route.admission_timeout, std::chrono::milliseconds(20));
  const BatchConfig& batch = route.batch;
  EXPECT_EQ(batch.upstream_path, "/v1/batch");
  EXPECT_EQ(batch.max_batch_size, 50u);
  EXPECT_EQ(batch.max_batch_bytes, 256u * 1024);
  EXPECT_EQ(batch.max_item_bytes, 4u * 1024);
  EXPECT_EQ(batch.max_wait, std::chrono::milliseconds(5));
  EXPECT_EQ(batch.policy, FlushPolicy::size);
  EXPECT_EQ(batch.max_inflight_batches, 2u);
  EXPECT_EQ(batch.max_queued_batches, 0u);
  EXPECT_EQ(batch.payload, BatchPayload::wrapped);
  EXPECT_EQ(batch.wrap_path, (std::vector<std::string>{"data", "requests"}));
  EXPECT_EQ(batch.results_path, (std::vector<std::string>{"results"}));
  EXPECT_EQ(batch.demux, BatchDemux::id);
  EXPECT_EQ(batch.id_field, "key");
  EXPECT_EQ(batch.item_error_field, "error");
  EXPECT_EQ(batch.item_error_status, 422);
  EXPECT_TRUE(batch.debug_header);
  EXPECT_FALSE(plain.batch.debug_header);
}

TEST(ConfigLoader, AdaptiveAndLearnedPoliciesAndTheirTuning) {
  const Config adaptive = load(minimal_plus(batch_route + "policy = \"adaptive\"\n"));
  const PolicyTuning& defaults = adaptive.routes[1].batch.tuning;
  EXPECT_EQ(adaptive.routes[1].batch.policy, FlushPolicy::adaptive);
  EXPECT_DOUBLE_EQ(defaults.reduction_slack, 0.0075);
  EXPECT_EQ(defaults.tick, std::chrono::milliseconds(1));

  const Config learned = load_string(
      minimal_plus(batch_route +
                   "policy = \"learned\"\nmodel = \"models/p.onnx\"\nreduction_slack = 0.02\n"
                   "tick = \"500us\"\ndecision_deadline = \"50us\"\n"),
      "/etc/levee/levee.toml", {});
  const PolicyTuning& tuning = learned.routes[1].batch.tuning;
  EXPECT_EQ(learned.routes[1].batch.policy, FlushPolicy::learned);
  // A relative model path is taken from the config file's directory.
  EXPECT_EQ(tuning.model, "/etc/levee/models/p.onnx");
  EXPECT_DOUBLE_EQ(tuning.reduction_slack, 0.02);
  EXPECT_EQ(tuning.tick, std::chrono::microseconds(500));
  EXPECT_EQ(tuning.decision_deadline, std::chrono::microseconds(50));

  const Config absolute = load_string(
      minimal_plus("[[routes]]\nname = \"c\"\nupstream = \"legacy\"\nmode = \"collapse\"\n"
                   "[routes.collapse]\nstrategy = \"window\"\npolicy = \"learned\"\n"
                   "model = \"/srv/m.onnx\"\n"),
      "conf/levee.toml", {});
  EXPECT_EQ(absolute.routes[1].collapse.policy, FlushPolicy::learned);
  EXPECT_EQ(absolute.routes[1].collapse.tuning.model, "/srv/m.onnx");
}

TEST(ConfigLoader, BatchTableErrorsNameTheirKey) {
  EXPECT_THAT(
      only_error(minimal_plus(batch_route + "payload = \"xml\"\n"), "routes[1].batch.payload", 13)
          .message,
      HasSubstr("unknown value \"xml\" (expected json_array, ndjson, wrapped)"));
  EXPECT_THAT(only_error(minimal_plus(batch_route + "wrap_path = \"data..x\"\n"),
                         "routes[1].batch.wrap_path", 13)
                  .message,
              HasSubstr("invalid path"));
  EXPECT_THAT(only_error(minimal_plus(batch_route + "wrap_path = \"requests\"\n"),
                         "routes[1].batch.wrap_path", 13)
                  .message,
              HasSubstr("applies only to payload = \"wrapped\""));
  EXPECT_THAT(only_error(minimal_plus(batch_route + "max_batch_size = 0\n"),
                         "routes[1].batch.max_batch_size", 13)
                  .message,
              HasSubstr("must be from 1"));
  EXPECT_THAT(only_error(minimal_plus(batch_route + "max_batch_bytes = \"1KiB\"\n"),
                         "routes[1].batch.max_batch_bytes", 13)
                  .message,
              HasSubstr("must not be larger than max_batch_bytes"));
  EXPECT_THAT(only_error(minimal_plus(batch_route + "policy = \"adaptive\"\nmodel = \"m.onnx\"\n"),
                         "routes[1].batch.model", 14)
                  .message,
              HasSubstr("applies only to policy = \"learned\""));
  EXPECT_THAT(only_error(minimal_plus(batch_route + "policy = \"adaptive\"\ntick = \"10us\"\n"),
                         "routes[1].batch.tick", 14)
                  .message,
              HasSubstr("between 100us and 1s"));
  EXPECT_THAT(only_error(minimal_plus(batch_route + "policy = \"learned\"\nmodel = \"m.onnx\"\n"
                                                    "decision_deadline = \"20ms\"\n"),
                         "routes[1].batch.decision_deadline", 15)
                  .message,
              HasSubstr("at most 10ms"));
  EXPECT_THAT(
      only_error(minimal_plus(batch_route + "policy = \"adaptive\"\nreduction_slack = 0.0\n"),
                 "routes[1].batch.reduction_slack", 14)
          .message,
      HasSubstr("0.0001"));
  EXPECT_THAT(
      only_error(minimal_plus(batch_route + "policy = \"clever\"\n"), "routes[1].batch.policy", 13)
          .message,
      HasSubstr("expected immediate, timer, size, adaptive or learned"));
  EXPECT_THAT(
      only_error(minimal_plus(batch_route + "max_wait = \"0ms\"\n"), "routes[1].batch.max_wait", 13)
          .message,
      HasSubstr("0"));
  EXPECT_THAT(
      only_error(minimal_plus(batch_route + "size = 3\n"), "routes[1].batch.size", 13).message,
      HasSubstr("unknown key"));
  EXPECT_THAT(only_error(minimal_plus("[[routes]]\nname = \"b\"\nupstream = \"legacy\"\n"
                                      "mode = \"batch\"\n[routes.batch]\nmax_wait = \"5ms\"\n"),
                         "routes[1].batch.upstream_path", 11)
                  .message,
              HasSubstr("required"));
}

// ------------------------------------------------------------- backpressure, breaker, cache

TEST(ConfigLoader, ResilienceTablesTakeDefaults) {
  const Config config = load(minimal_plus(""));
  const UpstreamConfig& upstream = config.upstreams[0];
  EXPECT_EQ(upstream.max_inflight, 1024u);
  EXPECT_TRUE(upstream.breaker.enabled);
  EXPECT_DOUBLE_EQ(upstream.breaker.failure_threshold, 0.5);
  EXPECT_EQ(upstream.breaker.window, std::chrono::seconds(10));
  EXPECT_EQ(upstream.breaker.open_for, std::chrono::seconds(5));
  EXPECT_EQ(upstream.breaker.min_calls, 20u);
  EXPECT_FALSE(config.routes[0].cache.enabled);
  EXPECT_EQ(config.cache.max_bytes, 256u * 1024 * 1024);
  EXPECT_FALSE(config.cache.redis.has_value());
}

TEST(ConfigLoader, ResilienceTablesReadEveryKey) {
  const Config config = load(R"([upstreams.legacy]
address = "127.0.0.1:9000"
max_inflight = 64
[upstreams.legacy.breaker]
enabled = true
failure_threshold = 0.25
window = "30s"
open_for = "2s"
min_calls = 5
half_open_probes = 3
count_5xx = false

[cache]
max_bytes = "64MiB"
redis = "127.0.0.1:6390"
redis_timeout = "20ms"
redis_connect_timeout = "1s"
redis_key_prefix = "shop:"

[[routes]]
name = "items"
upstream = "legacy"
mode = "collapse"
max_pending = 300
admission_timeout = "15ms"
[routes.cache]
ttl = "2s"
stale_while_revalidate = "10s"
invalidate_on_mutation = false
honour_cache_control = false
max_entry_bytes = "128KiB"
)");
  const UpstreamConfig& upstream = config.upstreams[0];
  EXPECT_EQ(upstream.max_inflight, 64u);
  EXPECT_DOUBLE_EQ(upstream.breaker.failure_threshold, 0.25);
  EXPECT_EQ(upstream.breaker.window, std::chrono::seconds(30));
  EXPECT_EQ(upstream.breaker.open_for, std::chrono::seconds(2));
  EXPECT_EQ(upstream.breaker.min_calls, 5u);
  EXPECT_EQ(upstream.breaker.half_open_probes, 3u);
  EXPECT_FALSE(upstream.breaker.count_5xx);
  EXPECT_EQ(config.cache.max_bytes, 64u * 1024 * 1024);
  ASSERT_TRUE(config.cache.redis.has_value());
  EXPECT_EQ(config.cache.redis->port, 6390);
  EXPECT_EQ(config.cache.redis_timeout, std::chrono::milliseconds(20));
  EXPECT_EQ(config.cache.redis_connect_timeout, std::chrono::seconds(1));
  EXPECT_EQ(config.cache.redis_key_prefix, "shop:");
  const RouteConfig& route = config.routes[0];
  EXPECT_EQ(route.max_pending, 300u);
  EXPECT_EQ(route.admission_timeout, std::chrono::milliseconds(15));
  EXPECT_TRUE(route.cache.enabled);
  EXPECT_EQ(route.cache.ttl, std::chrono::seconds(2));
  EXPECT_EQ(route.cache.stale_while_revalidate, std::chrono::seconds(10));
  EXPECT_FALSE(route.cache.invalidate_on_mutation);
  EXPECT_FALSE(route.cache.honour_cache_control);
  EXPECT_EQ(route.cache.max_entry_bytes, 128u * 1024);
}

TEST(ConfigLoader, BadResilienceKeysNameTheirLine) {
  EXPECT_THAT(only_error(minimal_plus("[upstreams.more]\naddress = \"127.0.0.1:1\"\n"
                                      "[upstreams.more.breaker]\nfailure_threshold = 1.5\n"),
                         "upstreams.more.breaker.failure_threshold", 10)
                  .message,
              HasSubstr("must be from 0 to 1"));
  EXPECT_THAT(only_error(minimal_plus("[upstreams.more]\naddress = \"127.0.0.1:1\"\n"
                                      "[upstreams.more.breaker]\nfailure_threshold = \"half\"\n"),
                         "upstreams.more.breaker.failure_threshold", 10)
                  .message,
              HasSubstr("expected a number"));
  EXPECT_THAT(only_error(minimal_plus("[upstreams.more]\naddress = \"127.0.0.1:1\"\n"
                                      "[upstreams.more.breaker]\nopen = \"5s\"\n"),
                         "upstreams.more.breaker.open", 10)
                  .message,
              HasSubstr("unknown key"));
  EXPECT_THAT(only_error(minimal_plus("[upstreams.more]\naddress = \"127.0.0.1:1\"\n"
                                      "max_inflight = 0\n"),
                         "upstreams.more.max_inflight", 9)
                  .message,
              HasSubstr("must be from 1"));
  EXPECT_THAT(only_error(minimal_plus("[cache]\nredis = \"nowhere\"\n"), "cache.redis", 8).message,
              HasSubstr("invalid"));
  EXPECT_THAT(only_error(minimal_plus("[[routes]]\nname = \"c\"\nupstream = \"legacy\"\n"
                                      "[routes.cache]\nttl = 5\n"),
                         "routes[1].cache.ttl", 11)
                  .message,
              HasSubstr("duration"));
  EXPECT_THAT(only_error(minimal_plus(batch_route + "[routes.cache]\nttl = \"1s\"\n"),
                         "routes[1].cache", 13)
                  .message,
              HasSubstr("cannot cache"));
}

TEST(ConfigLoader, EnvironmentReachesBreakerAndRouteCacheKeys) {
  const Config config =
      load(minimal_plus("[[routes]]\nname = \"c\"\nupstream = \"legacy\"\n[routes.cache]\n"),
           {{"LEVEE_UPSTREAMS__legacy__BREAKER__FAILURE_THRESHOLD", "0.75"},
            {"LEVEE_ROUTES__c__CACHE__TTL", "3s"},
            {"LEVEE_CACHE__MAX_BYTES", "1MiB"}});
  EXPECT_DOUBLE_EQ(config.upstreams[0].breaker.failure_threshold, 0.75);
  EXPECT_EQ(config.routes[1].cache.ttl, std::chrono::seconds(3));
  EXPECT_EQ(config.cache.max_bytes, 1024u * 1024);
}

TEST(ConfigLoader, BadRouteFields) {
  const auto errors = errors_of(minimal_plus(R"([[routes]]
name = "two words"
host = "api.example.com:8080"
path_prefix = "api/"
methods = ["GET", "get", "GET"]
upstream = "legacy"
)"));
  ASSERT_EQ(errors.size(), 5u) << describe(errors);
  EXPECT_EQ(error_for(errors, "routes[1].name").line, 8u);
  EXPECT_THAT(error_for(errors, "routes[1].host").message, HasSubstr("port"));
  EXPECT_THAT(error_for(errors, "routes[1].path_prefix").message, HasSubstr("start with '/'"));
  EXPECT_THAT(error_for(errors, "routes[1].methods[1]").message, HasSubstr("upper-case"));
  EXPECT_THAT(error_for(errors, "routes[1].methods[2]").message, HasSubstr("duplicate method"));
  EXPECT_EQ(error_for(errors, "routes[1].methods[2]").line, 11u);
}

TEST(ConfigLoader, BadNamesAndLevels) {
  const auto errors = errors_of(R"([log]
level = "verbose"
[upstreams."a b"]
address = "127.0.0.1:9000"
[[routes]]
name = "all"
upstream = "a b"
)");
  ASSERT_EQ(errors.size(), 2u) << describe(errors);
  EXPECT_THAT(error_for(errors, "log.level").message, HasSubstr("unknown level \"verbose\""));
  EXPECT_EQ(error_for(errors, "upstreams.a b").line, 3u);
}

TEST(ConfigLoader, CollectsEveryErrorInFileOrder) {
  const auto errors = errors_of(R"([server]
workers = -1
bogus = 1
[upstreams.legacy]
address = "nowhere"
[[routes]]
name = "all"
upstream = "missing"
mode = "batch"
)");
  ASSERT_EQ(errors.size(), 5u) << describe(errors);
  const std::vector<std::string> keys = {"server.workers", "server.bogus",
                                         "upstreams.legacy.address", "routes[0].upstream",
                                         "routes[0].mode"};
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(errors[i].key, keys[i]);
}

// ---------------------------------------------------------------------- environment overrides

constexpr const char* two_routes_toml = R"([upstreams.legacy]
address = "127.0.0.1:9000"

[[routes]]
name = "items"
path_prefix = "/api/"
upstream = "legacy"

[[routes]]
name = "rest"
upstream = "legacy"
)";

TEST(ConfigEnvironment, OverridesServerAndUpstreamValues) {
  const Config config =
      load(two_routes_toml, {
                                {"LEVEE_SERVER__WORKERS", "4"},
                                {"LEVEE_SERVER__LISTEN", "127.0.0.1:0"},
                                {"LEVEE_SERVER__DRAIN_TIMEOUT", "0"},
                                {"LEVEE_SERVER__MAX_BODY_BYTES", "2MiB"},
                                {"LEVEE_LOG__LEVEL", "debug"},
                                {"LEVEE_UPSTREAMS__LEGACY__ADDRESS", "127.0.0.1:9001"},
                                {"LEVEE_UPSTREAMS__legacy__CONNECT_TIMEOUT", "250ms"},
                            });
  EXPECT_EQ(config.server.workers, 4u);
  EXPECT_EQ(config.server.listen.to_string(), "127.0.0.1:0");
  EXPECT_EQ(config.server.drain_timeout, Duration::zero());
  EXPECT_EQ(config.server.max_body_bytes, 2u * 1024 * 1024);
  EXPECT_EQ(config.log.level, "debug");
  EXPECT_EQ(config.upstreams.at(0).address.to_string(), "127.0.0.1:9001");
  EXPECT_EQ(config.upstreams.at(0).connect_timeout, Duration(250ms));
}

TEST(ConfigEnvironment, OverridesARouteByName) {
  const Config config = load(two_routes_toml, {{"LEVEE_ROUTES__items__PATH_PREFIX", "/x"},
                                               {"LEVEE_ROUTES__REST__METHODS", "[\"GET\"]"}});
  EXPECT_EQ(config.routes.at(0).path_prefix, "/x");
  EXPECT_EQ(config.routes.at(1).methods, std::vector<std::string>{"GET"});
}

TEST(ConfigEnvironment, OverridesOneKeyOfARoutesCollapseOrBatchTable) {
  const std::string text = minimal_plus(batch_route) +
                           "[[routes]]\nname = \"c\"\nupstream = \"legacy\"\nmode = \"collapse\"\n";
  const Config config = load(text, {{"LEVEE_ROUTES__b__BATCH__MAX_BATCH_SIZE", "10"},
                                    {"LEVEE_ROUTES__B__BATCH__MAX_WAIT", "5ms"},
                                    {"LEVEE_ROUTES__c__COLLAPSE__MAX_WAITERS", "7"}});
  EXPECT_EQ(config.routes.at(1).batch.max_batch_size, 10u);
  EXPECT_EQ(config.routes.at(1).batch.max_wait, std::chrono::milliseconds(5));
  EXPECT_EQ(config.routes.at(1).batch.upstream_path, "/process_batch");  // the rest stays
  EXPECT_EQ(config.routes.at(2).collapse.max_waiters, 7u);               // its table was created

  const auto errors = errors_of(
      text, {{"LEVEE_ROUTES__b__BATCH__SIZE", "10"}, {"LEVEE_ROUTES__b__LIMITS__TTL", "1s"}});
  ASSERT_EQ(errors.size(), 2u) << describe(errors);
  EXPECT_EQ(error_for(errors, "routes[1].batch.size").file,
            "environment variable LEVEE_ROUTES__b__BATCH__SIZE");
  EXPECT_THAT(error_for(errors, "routes.b.limits.ttl").message,
              HasSubstr("does not name a configuration key"));
}

TEST(ConfigEnvironment, OverridesARouteByIndex) {
  const Config config = load(two_routes_toml, {{"LEVEE_ROUTES__0__MODE", "pass"},
                                               {"LEVEE_ROUTES__1__HOST", "Example.COM"},
                                               {"LEVEE_ROUTES__1__NAME", "\"renamed\""}});
  EXPECT_EQ(config.routes.at(0).mode, RouteMode::pass);
  EXPECT_EQ(config.routes.at(1).host, "example.com");
  EXPECT_EQ(config.routes.at(1).name, "renamed");
}

TEST(ConfigEnvironment, CreatesAMissingSection) {
  const Config config = load(
      two_routes_toml, {{"LEVEE_SERVER__WORKERS", "3"}, {"LEVEE_LOG__ACCESS_LOG", "/tmp/a.jsonl"}});
  EXPECT_EQ(config.server.workers, 3u);
  EXPECT_EQ(config.log.access_log, "/tmp/a.jsonl");
}

TEST(ConfigEnvironment, IgnoresUnrelatedVariables) {
  const Config config = load(two_routes_toml, {{"LEVEE_BIN_DIR", "/opt/levee"},
                                               {"LEVEE_SERVERX", "1"},
                                               {"LEVEE_TRACING__SINK", "kafka"},
                                               {"PATH", "/usr/bin"},
                                               {"levee_server__workers", "9"}});
  EXPECT_EQ(config.server.workers, hardware_workers());
}

TEST(ConfigEnvironment, UnknownKeyNamesTheVariable) {
  const auto errors = errors_of(two_routes_toml, {{"LEVEE_SERVER__WORKRES", "4"}});
  ASSERT_EQ(errors.size(), 1u) << describe(errors);
  EXPECT_EQ(errors[0].file, "environment variable LEVEE_SERVER__WORKRES");
  EXPECT_EQ(errors[0].line, 0u);
  EXPECT_EQ(errors[0].key, "server.workres");
  EXPECT_THAT(errors[0].message, HasSubstr("unknown key"));
  EXPECT_EQ(errors[0].to_string().rfind("environment variable LEVEE_SERVER__WORKRES: ", 0), 0u);
}

TEST(ConfigEnvironment, UnknownTargetsNameTheVariable) {
  const auto errors = errors_of(two_routes_toml, {{"LEVEE_ROUTES__7__MODE", "pass"},
                                                  {"LEVEE_ROUTES__nope__MODE", "pass"},
                                                  {"LEVEE_UPSTREAMS__OTHER__ADDRESS", "1.2.3.4:5"},
                                                  {"LEVEE_SERVER", "x"},
                                                  {"LEVEE_UPSTREAMS__LEGACY", "x"}});
  ASSERT_EQ(errors.size(), 5u) << describe(errors);
  for (const ConfigError& error : errors) {
    EXPECT_EQ(error.file.rfind("environment variable LEVEE_", 0), 0u) << error.to_string();
    EXPECT_EQ(error.line, 0u);
  }
  EXPECT_THAT(error_for(errors, "routes[7]").message, HasSubstr("no route at index 7"));
  EXPECT_THAT(error_for(errors, "routes.nope").message, HasSubstr("no route named"));
  EXPECT_THAT(error_for(errors, "upstreams.other").message, HasSubstr("no upstream named"));
  EXPECT_THAT(error_for(errors, "server").message, HasSubstr("LEVEE_SERVER__<KEY>"));
  EXPECT_THAT(error_for(errors, "upstreams.legacy").message,
              HasSubstr("LEVEE_UPSTREAMS__<NAME>[__BREAKER]__<KEY>"));
}

TEST(ConfigEnvironment, BadValuesNameTheVariable) {
  const auto errors = errors_of(two_routes_toml, {{"LEVEE_SERVER__WORKERS", "many"},
                                                  {"LEVEE_SERVER__DRAIN_TIMEOUT", "5"},
                                                  {"LEVEE_ROUTES__items__MODE", "batch"},
                                                  {"LEVEE_ROUTES__1__METHODS", "[\"get\"]"}});
  ASSERT_EQ(errors.size(), 4u) << describe(errors);
  const auto workers = error_for(errors, "server.workers");
  EXPECT_EQ(workers.file, "environment variable LEVEE_SERVER__WORKERS");
  EXPECT_THAT(workers.message, HasSubstr("expected an integer, found a string"));
  EXPECT_EQ(error_for(errors, "server.drain_timeout").file,
            "environment variable LEVEE_SERVER__DRAIN_TIMEOUT");
  EXPECT_THAT(error_for(errors, "server.drain_timeout").message, HasSubstr("missing unit"));
  const auto mode = error_for(errors, "routes[0].mode");
  EXPECT_EQ(mode.file, "environment variable LEVEE_ROUTES__items__MODE");
  EXPECT_EQ(mode.message, "mode = \"batch\" needs a [routes.batch] table with upstream_path");
  EXPECT_EQ(error_for(errors, "routes[1].methods[0]").file,
            "environment variable LEVEE_ROUTES__1__METHODS");
}

TEST(ConfigEnvironment, FileAndEnvironmentErrorsAreReportedTogether) {
  const auto errors = errors_of("[server]\nworkers = 999\n" + std::string(two_routes_toml),
                                {{"LEVEE_UPSTREAMS__LEGACY__ADDRESS", "nowhere"}});
  ASSERT_EQ(errors.size(), 2u) << describe(errors);
  EXPECT_EQ(errors[0].key, "server.workers");
  EXPECT_EQ(errors[0].file, "test.toml");
  EXPECT_EQ(errors[0].line, 2u);
  EXPECT_EQ(errors[1].key, "upstreams.legacy.address");
  EXPECT_EQ(errors[1].file, "environment variable LEVEE_UPSTREAMS__LEGACY__ADDRESS");
}

}  // namespace
}  // namespace levee::config
