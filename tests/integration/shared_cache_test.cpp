// The cache's shared tier with real processes: two levee instances in front of one upstream
// share one redis-server, and a Redis that dies mid-test costs no request.

#include <gtest/gtest.h>

#include <chrono>
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

// Both instances answer the same public name, as they would behind one load balancer.
const HeaderList k_public_host = {{"Host", "shop.example"}};

std::string cached_routes(std::uint16_t redis_port) {
  return "[cache]\nredis = \"127.0.0.1:" + std::to_string(redis_port) +
         "\"\nredis_timeout = \"200ms\"\n"
         "[[routes]]\nname = \"api\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n"
         "mode = \"collapse\"\n[routes.cache]\nttl = \"30s\"\n";
}

// Keys in the Redis database, read with redis-cli.
std::uint64_t redis_keys(std::uint16_t port) {
  Process cli("/usr/bin/redis-cli", {"-p", std::to_string(port), "DBSIZE"});
  if (cli.wait_exit(5s) != 0) return 0;
  const std::string out = cli.stdout_text();
  return out.empty() ? 0 : std::stoull(out);
}

std::uint64_t shared_hits(std::uint16_t admin_port) {
  return metric_value(admin_port, "levee_cache_shared_tier_hits_total{route=\"api\"}");
}

TEST(SharedCache, TwoInstancesShareOneRedis) {
  RedisServer redis(unused_port());
  LeveeOptions options;
  options.routes = cached_routes(redis.port());
  Stack first(options);
  LeveeProcess second(
      write_file(first.dir.path() / "second.toml", make_config(options, first.upstream.address())));

  const HttpResult miss = http_get(first.port(), "/api/shared", k_public_host);
  ASSERT_EQ(miss.status, 200) << miss;
  EXPECT_EQ(miss.header("X-Levee-Cache"), "miss");
  ASSERT_TRUE(eventually([&] { return redis_keys(redis.port()) == 1; }));
  // redis_key_prefix ("levee:") once, then the key schema's version: not "levee:levee:v1:".
  EXPECT_EQ(redis_cli(redis.port(), {"KEYS", "*"}), "levee:v1:g:12:shop.example/api/shared\n");

  const HttpResult hit = http_get(second.port, "/api/shared", k_public_host);
  EXPECT_EQ(hit.status, 200) << hit;
  EXPECT_EQ(hit.header("X-Levee-Cache"), "hit") << hit;
  EXPECT_EQ(hit.body, miss.body);
  EXPECT_EQ(shared_hits(second.admin_port), 1u);
  EXPECT_EQ(first.upstream.calls("/api/shared"), 1u);
}

TEST(SharedCache, AVaryingAnswerIsSharedPerVariant) {
  RedisServer redis(unused_port());
  LeveeOptions options;
  options.routes = cached_routes(redis.port());
  Stack first(options);
  LeveeProcess second(
      write_file(first.dir.path() / "second.toml", make_config(options, first.upstream.address())));
  HeaderList json = k_public_host;
  json.emplace_back("Accept", "application/json");
  HeaderList text = k_public_host;
  text.emplace_back("Accept", "text/plain");

  ASSERT_EQ(http_get(first.port(), "/api/v?vary=Accept", json).status, 200);
  // The Vary record under the primary key, the answer under its variant.
  ASSERT_TRUE(eventually([&] { return redis_keys(redis.port()) == 2; }));
  const HttpResult same = http_get(second.port, "/api/v?vary=Accept", json);
  EXPECT_EQ(same.header("X-Levee-Cache"), "hit") << same;
  EXPECT_EQ(shared_hits(second.admin_port), 1u);
  const HttpResult other = http_get(second.port, "/api/v?vary=Accept", text);
  EXPECT_EQ(other.header("X-Levee-Cache"), "miss") << other;
  EXPECT_EQ(first.upstream.calls("/api/v"), 2u);
}

TEST(SharedCache, ARedisThatDiesCostsNoRequest) {
  RedisServer redis(unused_port());
  LeveeOptions options;
  options.routes = cached_routes(redis.port());
  Stack stack(options);
  ASSERT_EQ(http_get(stack.port(), "/api/before", k_public_host).status, 200);
  redis.kill();
  // Every request is answered while Redis is gone: from memory, or from the upstream.
  for (int i = 0; i < 50; ++i) {
    const std::string target = "/api/during?i=" + std::to_string(i % 10);
    const HttpResult result = http_get(stack.port(), target, k_public_host);
    EXPECT_EQ(result.status, 200) << target << ": " << result;
  }
  EXPECT_EQ(http_get(stack.port(), "/api/before", k_public_host).header("X-Levee-Cache"), "hit");
  EXPECT_EQ(stack.upstream.calls("/api/during"), 10u);
  EXPECT_GT(
      metric_value(stack.admin_port(), "levee_cache_redis_errors_total{kind=\"not_connected\"}"),
      0u);
}

}  // namespace
}  // namespace levee::testing
