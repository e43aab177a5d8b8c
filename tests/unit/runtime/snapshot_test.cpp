// A configuration snapshot built from the running one carries over the state that still means
// the same thing (issue 17.4): a route's cache (store and counters) while its [routes.cache]
// is unchanged, an upstream's breaker and permit pool while its settings are, and the metric
// children of every route of the same name; everything else starts anew.

#include "runtime/snapshot.hpp"

#include <gtest/gtest.h>

#include <string>

#include "admin/metric_registry.hpp"
#include "config/loader.hpp"
#include "layers/cache/cache_layer.hpp"
#include "proxy/flush_policy_setup.hpp"
#include "proxy/proxy_metrics.hpp"

namespace levee::runtime {
namespace {

std::shared_ptr<const config::Config> load(const std::string& upstream_extra,
                                           const std::string& cache_ttl,
                                           const std::string& more_routes = "") {
  return std::make_shared<const config::Config>(config::load_string(
      "[upstreams.legacy]\naddress = \"127.0.0.1:1\"\n" + upstream_extra +
          "[[routes]]\nname = \"items\"\npath_prefix = \"/api/\"\nupstream = \"legacy\"\n"
          "mode = \"collapse\"\n[routes.cache]\nttl = \"" +
          cache_ttl + "\"\n" + more_routes,
      "test.toml", {}));
}

class SnapshotTest : public ::testing::Test {
 protected:
  admin::Registry registry_;
  proxy::ProxyMetrics metrics_{registry_};
  proxy::FlushPolicySetup policies_{registry_, nullptr};
  RuntimeServices services_{registry_, metrics_, policies_};
};

TEST_F(SnapshotTest, AnUnchangedRouteKeepsItsCacheAndAnUnchangedUpstreamItsBreaker) {
  const auto first = build_snapshot(load("", "1s"), services_, nullptr);
  EXPECT_EQ(first->generation, 1u);
  // Another route added: "items" and "legacy" are as they were.
  const auto second = build_snapshot(
      load("", "1s", "[[routes]]\nname = \"rest\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n"),
      services_, first.get());
  EXPECT_EQ(second->generation, 2u);
  const auto* cache_before = layers::cache::cache_shared_of(first->route("items")->layer("cache"));
  const auto* cache_after = layers::cache::cache_shared_of(second->route("items")->layer("cache"));
  ASSERT_NE(cache_before, nullptr);
  ASSERT_NE(cache_after, nullptr);
  EXPECT_EQ(cache_after->store, cache_before->store);
  EXPECT_EQ(cache_after->counters, cache_before->counters);
  EXPECT_EQ(second->guards.at("legacy").breaker, first->guards.at("legacy").breaker);
  EXPECT_EQ(second->guards.at("legacy").inflight, first->guards.at("legacy").inflight);
  EXPECT_EQ(second->route("rest")->layer("cache"), nullptr);
}

TEST_F(SnapshotTest, ChangedSectionsStartAnew) {
  const auto first = build_snapshot(load("", "1s"), services_, nullptr);
  const auto second =
      build_snapshot(load("max_inflight = 7\n[upstreams.legacy.breaker]\nmin_calls = 3\n", "2s"),
                     services_, first.get());
  const auto* cache_before = layers::cache::cache_shared_of(first->route("items")->layer("cache"));
  const auto* cache_after = layers::cache::cache_shared_of(second->route("items")->layer("cache"));
  ASSERT_NE(cache_after, nullptr);
  // The store is the process's memory tier: its budget did not change, so its entries stay;
  // the route's rules and counters are new.
  EXPECT_EQ(cache_after->store, cache_before->store);
  EXPECT_NE(cache_after->rules, cache_before->rules);
  EXPECT_NE(second->guards.at("legacy").breaker, first->guards.at("legacy").breaker);
  EXPECT_NE(second->guards.at("legacy").inflight, first->guards.at("legacy").inflight);
  EXPECT_EQ(second->guards.at("legacy").inflight->capacity(), 7u);
}

TEST_F(SnapshotTest, ReloadedRoutesRegisterNoSeriesTwice) {
  auto running = build_snapshot(load("", "1s"), services_, nullptr);
  for (int i = 0; i < 3; ++i) {
    running = build_snapshot(load("", i % 2 == 0 ? "2s" : "1s"), services_, running.get());
  }
  const std::string text = registry_.render();
  const std::string series = "levee_route_pending{route=\"items\"}";
  const auto first = text.find(series);
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find(series, first + 1), std::string::npos) << text;
}

}  // namespace
}  // namespace levee::runtime
