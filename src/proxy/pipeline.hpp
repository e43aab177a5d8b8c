#pragma once
// The one place where a route's layer order is decided (STYLE.md, DESIGN.md "Request flow"):
//   metrics ► admission ► cache ► collapse | batch ► breaker ► upstream limit ► upstream
// Batch routes admit in their batcher, so they have no admission layer.
// Built per worker, because the upstream layer uses that worker's connection pool.

#include <memory>

#include "config/config.hpp"
#include "core/service.hpp"
#include "layers/batch/batch_call.hpp"
#include "layers/batch/batch_metrics.hpp"
#include "layers/cache/cache_service.hpp"
#include "layers/collapse/collapse_service.hpp"
#include "layers/metrics/route_metrics.hpp"
#include "proxy/flush_policy_setup.hpp"
#include "proxy/guards.hpp"
#include "upstream/upstream_client.hpp"

namespace levee::proxy {

// What every worker's copy of a collapse route shares: one slot table (collapsing is global
// across workers), its rules and its counters. Empty for other modes.
struct CollapseShared {
  std::shared_ptr<layers::collapse::SlotTable> table;
  std::shared_ptr<const layers::collapse::CollapseRules> rules;
  std::shared_ptr<layers::collapse::CollapseCounters> counters;
};

// `policy`: the route's [routes.collapse] policy (FlushPolicySetup); used by window slots.
// `max_response_bytes`: the route's upstream's, which bounds a slot's replay buffer.
[[nodiscard]] CollapseShared make_collapse_shared(const config::RouteConfig& route,
                                                  const layers::collapse::CollapseMetrics& metrics,
                                                  const RoutePolicy& policy,
                                                  std::size_t max_response_bytes);

// What every worker's copy of a batch route shares: one batcher (batching is global across
// workers), its rules and its counters. Empty for other modes.
struct BatchShared {
  std::shared_ptr<layers::batch::RouteBatcher> batcher;
  std::shared_ptr<const layers::batch::BatchRules> rules;
  std::shared_ptr<layers::batch::BatchCounters> counters;
};

// `max_response_bytes`: the route's upstream's, which bounds a batch response held for demux.
[[nodiscard]] BatchShared make_batch_shared(const config::RouteConfig& route,
                                            const layers::batch::BatchMetricChildren& metrics,
                                            const RoutePolicy& policy,
                                            std::size_t max_response_bytes);

struct RouteResources {
  const config::RouteConfig& route;
  upstream::UpstreamClient& upstream;  // the worker's client for the route's upstream
  const layers::RouteMetrics& metrics;
  const CollapseShared& collapse;
  const BatchShared& batch;
  const RouteLimits& limits;
  const UpstreamGuards& guards;  // of the route's upstream
  const layers::cache::CacheShared& cache;
  layers::cache::SharedTier* shared_tier = nullptr;  // the worker's; null: memory only
  unsigned worker = 0;                               // the worker's index, for debug headers
};

[[nodiscard]] std::unique_ptr<core::Handler> build_route_pipeline(const RouteResources& resources);

}  // namespace levee::proxy
