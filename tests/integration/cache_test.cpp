// The response cache with real processes (DESIGN.md "Cache and circuit breaker"): hits skip
// the upstream, stale entries are served while one refresh runs, what must not be stored is
// not, and a change to a path drops its cached GETs.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

Stack cache_stack(std::string_view cache_table, std::string_view mode = "collapse") {
  LeveeOptions options;
  options.routes =
      "[[routes]]\nname = \"api\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n"
      "mode = \"" +
      std::string(mode) + "\"\n[routes.cache]\n" + std::string(cache_table);
  return Stack(options);
}

std::uint64_t lookups(const Stack& stack, std::string_view result) {
  return metric_value(stack.admin_port(), "levee_cache_lookups_total{route=\"api\",result=\"" +
                                              std::string(result) + "\"}");
}

TEST(Cache, AHitIsServedWithoutAnUpstreamCall) {
  Stack stack = cache_stack("ttl = \"30s\"\n");
  const HttpResult first = http_get(stack.port(), "/api/a?x=1");
  ASSERT_EQ(first.status, 200) << first;
  EXPECT_EQ(first.header("X-Levee-Cache"), "miss");
  for (int i = 0; i < 5; ++i) {
    const HttpResult again = http_get(stack.port(), "/api/a?x=1");
    EXPECT_EQ(again.status, 200) << again;
    EXPECT_EQ(again.header("X-Levee-Cache"), "hit") << again;
    EXPECT_TRUE(again.has_header("Age")) << again;
    EXPECT_EQ(again.body, first.body);
  }
  EXPECT_EQ(stack.upstream.calls("/api/a"), 1u);
  EXPECT_EQ(lookups(stack, "hit"), 5u);
  EXPECT_EQ(lookups(stack, "miss"), 1u);
  // Another query is another entry; HEAD shares GET's.
  EXPECT_EQ(http_get(stack.port(), "/api/a?x=2").header("X-Levee-Cache"), "miss");
  HttpConnection connection(stack.port());
  EXPECT_EQ(connection.request("HEAD", "/api/a?x=1").status, 200);
  EXPECT_EQ(stack.upstream.calls("/api/a"), 2u);
}

TEST(Cache, AStaleEntryIsServedWhileOneRefreshRuns) {
  Stack stack = cache_stack("ttl = \"200ms\"\nstale_while_revalidate = \"30s\"\n");
  ASSERT_EQ(http_get(stack.port(), "/api/s").status, 200);
  // Once the entry is stale, answers come from it at once while one refresh goes upstream.
  ASSERT_TRUE(eventually(
      [&] { return http_get(stack.port(), "/api/s").header("X-Levee-Cache") == "stale"; }, 5s));
  ASSERT_TRUE(eventually([&] { return stack.upstream.calls("/api/s") == 2u; }));
  // The refresh stored a fresh entry.
  EXPECT_TRUE(eventually(
      [&] { return http_get(stack.port(), "/api/s").header("X-Levee-Cache") == "hit"; }));
  EXPECT_EQ(stack.upstream.calls("/api/s"), 2u);
}

TEST(Cache, NoStorePrivateAndSetCookieAreNeverCached) {
  Stack stack = cache_stack("ttl = \"30s\"\n");
  for (const std::string target :
       {"/api/n?cache_control=no-store", "/api/p?cache_control=private", "/set-cookie"}) {
    for (int i = 0; i < 3; ++i) {
      const HttpResult result = http_get(stack.port(), target);
      EXPECT_EQ(result.status, 200) << target << ": " << result;
      EXPECT_EQ(result.header("X-Levee-Cache"), "miss") << target;
    }
  }
  EXPECT_EQ(stack.upstream.calls("/api/n"), 3u);
  EXPECT_EQ(stack.upstream.calls("/api/p"), 3u);
  EXPECT_EQ(stack.upstream.calls("/set-cookie"), 3u);
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_cache_not_stored_total{route=\"api\"}"), 9u);
}

TEST(Cache, TheUpstreamsMaxAgeDecidesFreshness) {
  Stack stack = cache_stack("ttl = \"30s\"\n");
  // max-age=0: stored, but stale at once (no stale_while_revalidate: a miss every time).
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(http_get(stack.port(), "/api/m?cache_control=max-age=0").header("X-Levee-Cache"),
              "miss");
  }
  EXPECT_EQ(stack.upstream.calls("/api/m"), 2u);
}

TEST(Cache, APostToAPathDropsItsCachedGets) {
  Stack stack = cache_stack("ttl = \"30s\"\n", "pass");
  ASSERT_EQ(http_get(stack.port(), "/api/doc?v=1").status, 200);
  ASSERT_EQ(http_get(stack.port(), "/api/doc?v=2").status, 200);
  EXPECT_EQ(http_get(stack.port(), "/api/doc?v=1").header("X-Levee-Cache"), "hit");
  HttpConnection connection(stack.port());
  EXPECT_EQ(connection.request("POST", "/api/doc", {}, "{}").status, 200);
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_cache_invalidated_total{route=\"api\"}"), 2u);
  EXPECT_EQ(http_get(stack.port(), "/api/doc?v=1").header("X-Levee-Cache"), "miss");
  EXPECT_EQ(http_get(stack.port(), "/api/doc?v=2").header("X-Levee-Cache"), "miss");
}

TEST(Cache, ARequestThatAsksForNoCacheBypassesTheLookup) {
  Stack stack = cache_stack("ttl = \"30s\"\n");
  ASSERT_EQ(http_get(stack.port(), "/api/b").status, 200);
  const HttpResult bypass = http_get(stack.port(), "/api/b", {{"Cache-Control", "no-cache"}});
  EXPECT_EQ(bypass.header("X-Levee-Cache"), "bypass");
  EXPECT_EQ(stack.upstream.calls("/api/b"), 2u);
}

}  // namespace
}  // namespace levee::testing
