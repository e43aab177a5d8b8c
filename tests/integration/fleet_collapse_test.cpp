// Fleet collapsing with real processes (docs/fleet.md): three levee instances, one
// levee-upstream and one redis-server. Requests are spread over the instances in turn, as a
// round-robin balancer would, all with the same public Host (the key holds the authority).
// What is counted is what levee-upstream itself counted.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

const HeaderList k_public_host = {{"Host", "shop.example"}};

// [cache] with one Redis server.
std::string one_redis(std::uint16_t redis_port) {
  return "[cache]\nredis = \"127.0.0.1:" + std::to_string(redis_port) + "\"\n";
}

std::string fleet_routes(const std::string& cache, std::string_view collapse_extra = {}) {
  return cache +
         "redis_timeout = \"200ms\"\n"
         "[[routes]]\nname = \"api\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n"
         "mode = \"collapse\"\n[routes.collapse]\nfleet = true\nfleet_wait = \"100ms\"\n" +
         std::string(collapse_extra);
}

// Three instances with the same config in front of one upstream.
struct Fleet {
  Fleet(std::uint16_t redis_port, std::vector<std::string> upstream_args,
        std::string_view collapse_extra = {})
      : Fleet(one_redis(redis_port), std::move(upstream_args), collapse_extra) {}
  // `cache`: the [cache] section's Redis lines.
  Fleet(const std::string& cache, std::vector<std::string> upstream_args,
        std::string_view collapse_extra)
      : options(make_options(cache, collapse_extra)), first(options, std::move(upstream_args)) {
    for (int i = 0; i < 2; ++i) {
      others.push_back(std::make_unique<LeveeProcess>(
          write_file(first.dir.path() / ("instance" + std::to_string(i) + ".toml"),
                     make_config(options, first.upstream.address()))));
    }
  }

  static LeveeOptions make_options(const std::string& cache, std::string_view collapse_extra) {
    LeveeOptions made;
    made.routes = fleet_routes(cache, collapse_extra);
    made.workers = 2;
    return made;
  }

  [[nodiscard]] std::uint16_t port(std::size_t i) const {
    return i == 0 ? first.port() : others.at(i - 1)->port;
  }
  [[nodiscard]] std::uint16_t admin_port(std::size_t i) const {
    return i == 0 ? first.admin_port() : others.at(i - 1)->admin_port;
  }
  [[nodiscard]] std::uint64_t sum(const std::string& series) const {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < 3; ++i) total += metric_value(admin_port(i), series);
    return total;
  }

  LeveeOptions options;
  Stack first;
  std::vector<std::unique_ptr<LeveeProcess>> others;
};

struct Planned {
  std::uint16_t port;
  std::string target;
  HeaderList headers;
};

// Every request on its own connection, all sent before any answer is read, so that they are
// all in flight within the upstream's latency.
std::vector<HttpResult> send_together(const std::vector<Planned>& requests) {
  std::vector<HttpConnection> connections;
  connections.reserve(requests.size());
  for (const Planned& request : requests) {
    connections.emplace_back(request.port);
    EXPECT_TRUE(connections.back().send_raw(
        format_request(request.port, "GET", request.target, request.headers)));
  }
  std::vector<HttpResult> results;
  results.reserve(connections.size());
  for (auto& connection : connections) results.push_back(connection.read_response());
  return results;
}

// `per_instance` requests to each instance, in turn.
std::vector<Planned> round_robin(const Fleet& fleet, int per_instance, const std::string& target,
                                 const HeaderList& headers = k_public_host) {
  std::vector<Planned> planned;
  for (int i = 0; i < per_instance * 3; ++i) {
    planned.push_back({fleet.port(static_cast<std::size_t>(i % 3)), target, headers});
  }
  return planned;
}

std::string series(std::string_view family, std::string_view label, std::string_view value) {
  return std::string(family) + "{route=\"api\"," + std::string(label) + "=\"" + std::string(value) +
         "\"}";
}

TEST(FleetCollapse, ThreeInstancesMakeOneUpstreamCallForAHotKey) {
  RedisServer redis(unused_port());
  Fleet fleet(redis.port(), {"--latency", "1500ms"});
  const auto results = send_together(round_robin(fleet, 100, "/api/hot?id=7"));
  ASSERT_EQ(results.size(), 300u);
  for (const auto& result : results) {
    ASSERT_EQ(result.status, 200) << result;
    EXPECT_EQ(result.body, results.front().body);
    EXPECT_NE(result.body.find("\"hits\":1"), std::string::npos) << result.body;
  }
  EXPECT_EQ(fleet.first.upstream.calls("/api/hot"), 1u);
  EXPECT_EQ(fleet.sum(series("levee_fleet_leases_total", "outcome", "won")), 1u);
  EXPECT_EQ(fleet.sum(series("levee_fleet_leases_total", "outcome", "waited")), 2u);
  EXPECT_EQ(fleet.sum(series("levee_fleet_hits_total", "freshness", "fresh")), 2u);
  EXPECT_EQ(fleet.sum(series("levee_fleet_fallbacks_total", "reason", "redis_error")), 0u);
  const auto stats = http_get(fleet.admin_port(0), "/stats");
  EXPECT_NE(stats.body.find("\"fleet\":{\"leases\":{"), std::string::npos) << stats.body;
}

TEST(FleetCollapse, DifferentAuthorizationsNeverShareAnAnswer) {
  RedisServer redis(unused_port());
  Fleet fleet(redis.port(), {"--latency", "1000ms"});
  std::vector<Planned> planned;
  for (int i = 0; i < 60; ++i) {
    HeaderList headers = k_public_host;
    headers.emplace_back("Authorization", "Bearer user" + std::to_string(i % 10));
    planned.push_back({fleet.port(static_cast<std::size_t>(i % 3)), "/api/me", headers});
  }
  const auto results = send_together(planned);
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_EQ(results[i].status, 200) << results[i];
    const std::string own = "\"authorization\":\"Bearer user" + std::to_string(i % 10) + "\"";
    EXPECT_NE(results[i].body.find(own), std::string::npos) << i << ": " << results[i].body;
  }
  // One call per user, whichever instance made it.
  EXPECT_EQ(fleet.first.upstream.calls("/api/me"), 10u);
}

TEST(FleetCollapse, AnAnswerWithSetCookieStaysWithItsInstance) {
  RedisServer redis(unused_port());
  Fleet fleet(redis.port(), {"--latency", "1000ms"});
  const auto results = send_together(round_robin(fleet, 5, "/set-cookie"));
  for (const auto& result : results) EXPECT_EQ(result.status, 200) << result;
  // Nothing is shared, within an instance (its followers are released) or across the fleet.
  EXPECT_EQ(fleet.first.upstream.calls("/set-cookie"), 15u);
  EXPECT_EQ(fleet.sum(series("levee_fleet_unshared_total", "reason", "set_cookie")), 1u);
  EXPECT_EQ(fleet.sum(series("levee_fleet_fallbacks_total", "reason", "unshared")), 2u);
}

TEST(FleetCollapse, ANoStoreAnswerStaysWithItsInstance) {
  RedisServer redis(unused_port());
  Fleet fleet(redis.port(), {"--latency", "1000ms"});
  const auto results = send_together(round_robin(fleet, 5, "/api/private?cache_control=no-store"));
  for (const auto& result : results) EXPECT_EQ(result.status, 200) << result;
  EXPECT_EQ(fleet.first.upstream.calls("/api/private"), 3u);
  EXPECT_EQ(fleet.sum(series("levee_fleet_unshared_total", "reason", "no_store")), 1u);
}

TEST(FleetCollapse, FleetStaleServesTheLastAnswerWhileAnotherInstanceRefreshes) {
  RedisServer redis(unused_port());
  Fleet fleet(redis.port(), {"--latency", "800ms"}, "fleet_stale = \"30s\"\n");
  const HttpResult first = http_get(fleet.port(0), "/api/s", k_public_host);
  ASSERT_EQ(first.status, 200) << first;
  EXPECT_NE(first.body.find("\"hits\":1"), std::string::npos) << first.body;
  // The answer is complete in Redis once the first instance's complete script has run.
  ASSERT_TRUE(eventually([&] {
    return metric_value(fleet.admin_port(0), "levee_fleet_redis_commands_total{route=\"api\"}") >=
           2;
  }));
  // A refresh: the first instance takes the lease again and calls upstream...
  HttpConnection refreshing(fleet.port(0));
  ASSERT_TRUE(refreshing.send_raw(format_request(fleet.port(0), "GET", "/api/s", k_public_host)));
  ASSERT_TRUE(eventually([&] {
    return metric_value(fleet.admin_port(0),
                        series("levee_fleet_leases_total", "outcome", "won")) == 2;
  }));
  // ...and meanwhile another instance is answered at once with the last answer.
  const HttpResult stale = http_get(fleet.port(1), "/api/s", k_public_host);
  EXPECT_EQ(stale.status, 200) << stale;
  EXPECT_EQ(stale.body, first.body);
  EXPECT_EQ(
      metric_value(fleet.admin_port(1), series("levee_fleet_hits_total", "freshness", "stale")),
      1u);
  const HttpResult refreshed = refreshing.read_response();
  EXPECT_NE(refreshed.body.find("\"hits\":2"), std::string::npos) << refreshed.body;
  EXPECT_EQ(fleet.first.upstream.calls("/api/s"), 2u);
}

TEST(FleetCollapse, WhenTheHolderIsKilledAnotherInstanceTakesOver) {
  RedisServer redis(unused_port());
  Fleet fleet(redis.port(), {"--latency", "1500ms"}, "lease_ttl = \"1s\"\n");
  // The first instance takes the lease, then is killed while its call is upstream.
  HttpConnection doomed(fleet.port(0));
  ASSERT_TRUE(doomed.send_raw(format_request(fleet.port(0), "GET", "/api/k", k_public_host)));
  ASSERT_TRUE(eventually([&] {
    return metric_value(fleet.admin_port(0),
                        series("levee_fleet_leases_total", "outcome", "won")) == 1;
  }));
  std::vector<Planned> planned;
  for (int i = 0; i < 20; ++i) {
    planned.push_back({fleet.port(1 + static_cast<std::size_t>(i % 2)), "/api/k", k_public_host});
  }
  std::vector<HttpConnection> connections;
  for (const Planned& request : planned) {
    connections.emplace_back(request.port);
    ASSERT_TRUE(connections.back().send_raw(
        format_request(request.port, "GET", request.target, request.headers)));
  }
  // Both others are waiting on the lease before the holder dies.
  ASSERT_TRUE(eventually([&] {
    return metric_value(fleet.admin_port(1),
                        series("levee_fleet_leases_total", "outcome", "waited")) == 1 &&
           metric_value(fleet.admin_port(2),
                        series("levee_fleet_leases_total", "outcome", "waited")) == 1;
  }));
  fleet.first.levee.process.send_signal(SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  for (auto& connection : connections) {
    const HttpResult result = connection.read_response();
    EXPECT_EQ(result.status, 200) << result;
  }
  const auto answered_in = std::chrono::steady_clock::now() - killed_at;
  std::cout << "[ measured ] all answered "
            << std::chrono::duration_cast<std::chrono::milliseconds>(answered_in).count()
            << " ms after the holder was killed (lease_ttl 1 s, upstream 1.5 s)\n";
  // The killed holder's call and the one that took over: no third.
  EXPECT_EQ(fleet.first.upstream.calls("/api/k"), 2u);
  std::uint64_t taken_over = 0;
  std::uint64_t fallbacks = 0;
  for (std::size_t i = 1; i < 3; ++i) {
    taken_over += metric_value(fleet.admin_port(i),
                               series("levee_fleet_leases_total", "outcome", "taken_over"));
    for (const char* reason : {"redis_error", "wait_expired", "unshared"}) {
      fallbacks += metric_value(fleet.admin_port(i),
                                series("levee_fleet_fallbacks_total", "reason", reason));
    }
  }
  EXPECT_EQ(taken_over, 1u);
  EXPECT_EQ(fallbacks, 0u);
}

TEST(FleetCollapse, ARedisThatStopsCostsNoRequestAndCollapsingResumesWhenItReturns) {
  RedisServer redis(unused_port());
  Fleet fleet(redis.port(), {"--latency", "600ms"});
  ASSERT_EQ(http_get(fleet.port(0), "/api/warm", k_public_host).status, 200);

  redis.kill();
  // Every request is answered; each instance still collapses its own.
  auto results = send_together(round_robin(fleet, 10, "/api/down"));
  for (const auto& result : results) EXPECT_EQ(result.status, 200) << result;
  EXPECT_EQ(fleet.first.upstream.calls("/api/down"), 3u);
  EXPECT_EQ(fleet.sum(series("levee_fleet_fallbacks_total", "reason", "redis_error")), 3u);

  redis.start();
  // Each instance reconnects in the background (its backoff); then one call serves all again.
  int round = 0;
  ASSERT_TRUE(eventually(
      [&] {
        const std::string path = "/api/back/" + std::to_string(++round);
        results = send_together(round_robin(fleet, 5, path));
        for (const auto& result : results) EXPECT_EQ(result.status, 200) << result;
        return fleet.first.upstream.calls(path) == 1;
      },
      30s));
  EXPECT_GE(fleet.sum(series("levee_fleet_hits_total", "freshness", "fresh")), 2u);
}

TEST(FleetCollapse, FleetWithoutRedisIsAConfigError) {
  TempDir dir;
  LeveeOptions options;
  options.routes =
      "[[routes]]\nname = \"api\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n"
      "mode = \"collapse\"\n[routes.collapse]\nfleet = true\n";
  const std::string path =
      write_file(dir.path() / "levee.toml", make_config(options, "127.0.0.1:9"));
  Process check(binary_path("levee"), {"check", "--config", path});
  EXPECT_NE(check.wait_exit(10s), 0);
  EXPECT_NE(check.stderr_text().find("routes[0].collapse.fleet"), std::string::npos)
      << check.stderr_text();
  EXPECT_NE(check.stderr_text().find("[cache]"), std::string::npos) << check.stderr_text();
}

// Redis behind Sentinel, its primary SIGKILLed mid-run: while the replica is promoted every
// request is answered (the instances collapse on their own, counted as redis_error), and
// once the instances have found the new primary one upstream call per key for the whole
// fleet resumes by itself.
TEST(FleetCollapse, ResumesOnTheNewPrimaryAfterASentinelFailover) {
  RedisServer primary(unused_port());
  RedisServer replica(unused_port(), primary.port());
  ASSERT_TRUE(eventually([&] { return replica_in_sync(replica.port()); }, 10s));
  RedisSentinel sentinel(unused_port(), primary.port(), "fleetmaster");
  ASSERT_TRUE(eventually([&] { return sentinel.knows_replica(replica.port()); }, 15s));
  Fleet fleet("[cache]\nredis_sentinels = [\"127.0.0.1:" + std::to_string(sentinel.port()) +
                  "\"]\nredis_master_name = \"fleetmaster\"\n",
              {"--latency", "400ms"}, {});

  // One call for a key asked on all three instances at once, through the first primary. The
  // instances may still be connecting: a round that fell back is tried again with a new key.
  int round = 0;
  const auto one_call_for_the_fleet = [&](const std::string& stem) {
    const std::string path = stem + std::to_string(round++);
    for (const auto& result : send_together(round_robin(fleet, 2, path))) {
      EXPECT_EQ(result.status, 200) << path << ": " << result;
    }
    return fleet.first.upstream.calls(path) == 1;
  };
  ASSERT_TRUE(eventually([&] { return one_call_for_the_fleet("/api/before-"); }, 20s));

  primary.kill();
  const std::uint64_t errors_before =
      fleet.sum(series("levee_fleet_fallbacks_total", "reason", "redis_error"));
  // Every request is answered while the sentinel notices and promotes the replica.
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& result : send_together(round_robin(fleet, 1, "/api/during"))) {
          EXPECT_EQ(result.status, 200) << result;
        }
        return sentinel.primary_port() == replica.port();
      },
      30s));
  EXPECT_GT(fleet.sum(series("levee_fleet_fallbacks_total", "reason", "redis_error")),
            errors_before)
      << "no request noticed that Redis was gone";

  // The instances ask the sentinel again, and collapse across the fleet on the new primary.
  ASSERT_TRUE(eventually([&] { return one_call_for_the_fleet("/api/after-"); }, 30s));
  EXPECT_THAT(fleet.first.levee.process.stderr_text(),
              ::testing::HasSubstr("redis: primary for fleetmaster is 127.0.0.1:" +
                                   std::to_string(replica.port())));
}

}  // namespace
}  // namespace levee::testing
