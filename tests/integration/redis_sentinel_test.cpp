// Following a Redis primary through Redis Sentinel, with real redis-server and redis-sentinel
// processes: RedisClient on its own (discovery, a READONLY demotion, no sentinel answering),
// then levee's shared cache tier through a real failover (primary SIGKILLed, replica
// promoted), answering every request meanwhile.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "levee_fixture.hpp"
#include "redis/redis_client.hpp"
#include "support/http_client.hpp"
#include "support/io_steps.hpp"
#include "support/polling.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace levee::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using redis::RedisAddress;
using redis::RedisClient;
using redis::RedisErrorKind;
using redis::RedisSettings;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr const char* k_master = "mymaster";

// --------------------------------------------------------------------------- RedisClient

class RedisSentinelClient : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }

  [[nodiscard]] static RedisSettings through(std::vector<std::uint16_t> sentinel_ports,
                                             std::string master_name = k_master) {
    RedisSettings settings;
    settings.host = "127.0.0.1";
    settings.port = 1;  // ignored with sentinels: nothing listens there
    for (const std::uint16_t port : sentinel_ports) {
      settings.sentinels.push_back(RedisAddress{"127.0.0.1", port});
    }
    settings.master_name = std::move(master_name);
    settings.command_timeout = 2s;
    settings.connect_timeout = 1s;
    settings.reconnect_backoff_min = 20ms;
    settings.reconnect_backoff_max = 200ms;
    return settings;
  }

  asio::io_context io_;
};

TEST_F(RedisSentinelClient, ConnectsToThePrimaryASentinelNames) {
  RedisServer primary(unused_port());
  RedisSentinel sentinel(unused_port(), primary.port(), k_master);
  // The first sentinel is down: the client asks the next one.
  RedisClient client(io_.get_executor(), through({unused_port(), sentinel.port()}));
  ASSERT_TRUE(run_until(
      io_, [&] { return client.connected(); }, 10s))
      << "connect failures " << client.stats().connect_failures;
  ASSERT_TRUE(await(io_, client.set("k", "v", 10s)).ok());
  EXPECT_EQ(redis_cli(primary.port(), {"GET", "k"}), "v\n");
  EXPECT_EQ(client.stats().connects, 1u);
  EXPECT_EQ(client.stats().discovery_failures, 0u);
}

TEST_F(RedisSentinelClient, AReadonlyReplyDropsTheConnectionAndAsksAgain) {
  RedisServer primary(unused_port());
  RedisSentinel sentinel(unused_port(), primary.port(), k_master);
  RedisClient client(io_.get_executor(), through({sentinel.port()}));
  ASSERT_TRUE(run_until(io_, [&] { return client.connected(); }, 10s));

  // Demoted behind the client's back (a replica of nothing, so it refuses writes).
  ASSERT_THAT(redis_cli(primary.port(), {"REPLICAOF", "127.0.0.1", std::to_string(unused_port())}),
              HasSubstr("OK"));
  const auto refused = await(io_, client.set("k", "v", 10s));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, RedisErrorKind::server_error);
  EXPECT_THAT(refused.error().message, HasSubstr("READONLY"));
  // From here on commands fail at once, without a round trip to the replica.
  EXPECT_FALSE(client.connected());
  const auto meanwhile = result_without_waiting(io_, client.get("k"));
  ASSERT_TRUE(meanwhile.has_value());
  ASSERT_FALSE(meanwhile->ok());
  EXPECT_EQ(meanwhile->error().kind, RedisErrorKind::not_connected);
  EXPECT_EQ(client.stats().demotions, 1u);

  // Once it is a primary again, the client finds it through the sentinel and writes again.
  ASSERT_THAT(redis_cli(primary.port(), {"REPLICAOF", "NO", "ONE"}), HasSubstr("OK"));
  ASSERT_TRUE(run_until(io_, [&] { return client.connected(); }, 10s));
  EXPECT_TRUE(await(io_, client.set("k", "v", 10s)).ok());
  EXPECT_EQ(client.stats().reconnects, 1u);
}

TEST_F(RedisSentinelClient, WithoutAnAnswerCommandsFailAtOnce) {
  RedisServer primary(unused_port());
  RedisSentinel sentinel(unused_port(), primary.port(), k_master);
  // One sentinel down, one that monitors no primary by this name.
  RedisClient client(io_.get_executor(), through({unused_port(), sentinel.port()}, "unknown"));
  ASSERT_TRUE(run_until(io_, [&] { return client.stats().discovery_failures >= 2; }, 10s));
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.stats().connects, 0u);
  const auto result = result_without_waiting(io_, client.get("k"));
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().kind, RedisErrorKind::not_connected);
}

// --------------------------------------------------------------------------- levee

const HeaderList k_public_host = {{"Host", "shop.example"}};

std::string routes_through(std::uint16_t sentinel_port) {
  return "[cache]\nredis_sentinels = [\"127.0.0.1:" + std::to_string(sentinel_port) +
         "\"]\nredis_master_name = \"" + k_master +
         "\"\nredis_timeout = \"200ms\"\n"
         "[[routes]]\nname = \"api\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n"
         "mode = \"collapse\"\n[routes.cache]\nttl = \"60s\"\n";
}

std::uint64_t keys_in(std::uint16_t port) {
  const std::string out = redis_cli(port, {"DBSIZE"});
  return out.empty() ? 0 : std::stoull(out);
}

// Every worker's client has connected (each logs it): a request now can use the shared tier.
bool all_workers_connected(const LeveeProcess& levee, unsigned workers = LeveeOptions{}.workers) {
  const std::string log = levee.process.stderr_text();
  unsigned connected = 0;
  for (auto at = log.find("redis: connected to"); at != std::string::npos;
       at = log.find("redis: connected to", at + 1)) {
    ++connected;
  }
  return connected >= workers;
}

TEST(RedisSentinel, LeveeFollowsThePrimaryThroughAFailover) {
  RedisServer primary(unused_port());
  RedisServer replica(unused_port(), primary.port());
  ASSERT_TRUE(eventually([&] { return replica_in_sync(replica.port()); }, 10s));
  RedisSentinel sentinel(unused_port(), primary.port(), k_master);
  // Sentinel promotes only a replica it knows of.
  ASSERT_TRUE(eventually([&] { return sentinel.knows_replica(replica.port()); }, 15s));

  LeveeOptions options;
  options.routes = routes_through(sentinel.port());
  Stack stack(options);
  ASSERT_TRUE(eventually([&] { return all_workers_connected(stack.levee); }))
      << stack.levee.process.stderr_text();
  const HttpResult before = http_get(stack.port(), "/api/before", k_public_host);
  ASSERT_EQ(before.status, 200) << before;
  ASSERT_TRUE(eventually([&] { return keys_in(primary.port()) == 1; }));
  ASSERT_TRUE(eventually([&] { return keys_in(replica.port()) == 1; }));

  primary.kill();
  // Every request is answered while the sentinel notices and promotes the replica.
  int request = 0;
  const auto answered = [&](std::string_view path) {
    const std::string target = std::string(path) + "?i=" + std::to_string(request++);
    const HttpResult result = http_get(stack.port(), target, k_public_host);
    EXPECT_EQ(result.status, 200) << target << ": " << result;
  };
  ASSERT_TRUE(eventually(
      [&] {
        answered("/api/during");
        return sentinel.primary_port() == replica.port();
      },
      30s));

  // levee asks the sentinel again, connects to the new primary and stores there.
  const std::uint64_t keys_at_promotion = keys_in(replica.port());
  ASSERT_TRUE(eventually(
      [&] {
        answered("/api/after");
        return keys_in(replica.port()) > keys_at_promotion;
      },
      30s))
      << stack.levee.process.stderr_text();
  EXPECT_THAT(
      stack.levee.process.stderr_text(),
      HasSubstr("redis: primary for mymaster is 127.0.0.1:" + std::to_string(replica.port()) +
                " (from sentinel 127.0.0.1:" + std::to_string(sentinel.port()) + ")"));

  // A second levee reads what the first stored before the failover, from the new primary.
  LeveeProcess second(
      write_file(stack.dir.path() / "second.toml", make_config(options, stack.upstream.address())));
  ASSERT_TRUE(eventually([&] { return all_workers_connected(second); }))
      << second.process.stderr_text();
  const HttpResult hit = http_get(second.port, "/api/before", k_public_host);
  EXPECT_EQ(hit.status, 200) << hit;
  EXPECT_EQ(hit.header("X-Levee-Cache"), "hit") << hit;
  EXPECT_EQ(metric_value(second.admin_port, "levee_cache_shared_tier_hits_total{route=\"api\"}"),
            1u);
  EXPECT_EQ(stack.upstream.calls("/api/before"), 1u);
}

}  // namespace
}  // namespace levee::testing
