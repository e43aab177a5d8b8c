// The route pipeline's order is data (runtime/layer_order.hpp): this pins it, and which layers
// each kind of route gets once the factories have declined what does not apply.

#include "runtime/layer_order.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "admin/metric_registry.hpp"
#include "config/loader.hpp"
#include "proxy/flush_policy_setup.hpp"
#include "proxy/proxy_metrics.hpp"
#include "runtime/snapshot.hpp"

namespace levee::runtime {
namespace {

using ::testing::ElementsAre;

TEST(LayerOrder, IsGrpcMetricsAdmissionCacheCollapseOrBatchBreakerLimitUpstream) {
  std::vector<std::string_view> names;
  for (const LayerEntry& entry : layer_order()) names.emplace_back(entry.name);
  EXPECT_THAT(names, ElementsAre("grpc", "metrics", "admission", "cache", "collapse", "batch",
                                 "breaker", "upstream_limit", "upstream"));
}

TEST(LayerOrder, EachModeKeepsTheLayersThatApply) {
  const auto config = std::make_shared<const config::Config>(config::load_string(
      "[upstreams.legacy]\naddress = \"127.0.0.1:1\"\n"
      "[upstreams.plain]\naddress = \"127.0.0.1:2\"\n[upstreams.plain.breaker]\nenabled = false\n"
      "[[routes]]\nname = \"cached\"\npath_prefix = \"/c/\"\nupstream = \"legacy\"\n"
      "[routes.cache]\nttl = \"1s\"\n"
      "[[routes]]\nname = \"items\"\npath_prefix = \"/api/\"\nupstream = \"legacy\"\n"
      "mode = \"collapse\"\n"
      "[[routes]]\nname = \"grpc\"\npath_prefix = \"/svc.\"\nupstream = \"legacy\"\n"
      "mode = \"collapse\"\ngrpc = true\n"
      "[[routes]]\nname = \"process\"\npath_prefix = \"/process\"\nupstream = \"legacy\"\n"
      "mode = \"batch\"\n[routes.batch]\nupstream_path = \"/process_batch\"\n"
      "[[routes]]\nname = \"rest\"\npath_prefix = \"/\"\nupstream = \"plain\"\n",
      "test.toml", {}));
  admin::Registry registry;
  proxy::ProxyMetrics metrics(registry);
  proxy::FlushPolicySetup policies(registry, nullptr);
  RuntimeServices services{registry, metrics, policies};
  const auto snapshot = build_snapshot(config, services, nullptr);
  ASSERT_EQ(snapshot->routes.size(), 5u);
  EXPECT_THAT(
      snapshot->route("cached")->layer_names(),
      ElementsAre("metrics", "admission", "cache", "breaker", "upstream_limit", "upstream"));
  EXPECT_THAT(
      snapshot->route("items")->layer_names(),
      ElementsAre("metrics", "admission", "collapse", "breaker", "upstream_limit", "upstream"));
  // gRPC outermost: the metrics count levee's refusals before they become grpc-status.
  EXPECT_THAT(snapshot->route("grpc")->layer_names(),
              ElementsAre("grpc", "metrics", "admission", "collapse", "breaker", "upstream_limit",
                          "upstream"));
  // The batcher admits; the breaker is the upstream's.
  EXPECT_THAT(snapshot->route("process")->layer_names(),
              ElementsAre("metrics", "batch", "breaker", "upstream_limit", "upstream"));
  EXPECT_THAT(snapshot->route("rest")->layer_names(),
              ElementsAre("metrics", "admission", "upstream_limit", "upstream"));
}

}  // namespace
}  // namespace levee::runtime
