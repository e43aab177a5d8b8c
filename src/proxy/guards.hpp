#pragma once
// What protects an upstream and a route, shared by every worker (DESIGN.md "Backpressure",
// "Cache and circuit breaker"): per upstream the in-flight permit pool (max_inflight) and the
// circuit breaker; per route the admission permit pool (max_pending) and its limit rules.
// Built once at start-up by ProxyServer, which outlives the workers that use them.

#include <map>
#include <memory>
#include <string>

#include "admin/metric_registry.hpp"
#include "config/config.hpp"
#include "core/permit_pool.hpp"
#include "layers/breaker/circuit_breaker.hpp"
#include "layers/limit/permit_gate.hpp"
#include "layers/metrics/route_metrics.hpp"

namespace levee::proxy {

struct UpstreamGuards {
  std::shared_ptr<core::PermitPool> inflight;
  std::shared_ptr<layers::breaker::CircuitBreaker> breaker;  // null: breaker.enabled = false
};

using UpstreamGuardMap = std::map<std::string, UpstreamGuards, std::less<>>;

// One entry per upstream; registers levee_upstream_inflight, levee_upstream_waiting,
// levee_breaker_state and levee_breaker_transitions_total, and logs each breaker transition.
[[nodiscard]] UpstreamGuardMap make_upstream_guards(const config::Config& config,
                                                    admin::Registry& registry);

struct RouteLimits {
  std::shared_ptr<core::PermitPool> admission;  // null for batch routes (their batcher admits)
  std::shared_ptr<const layers::limit::LimitRules> rules;
};

// A route's admission pool and rules; registers levee_route_pending and
// levee_admission_waiting for routes that have a pool.
[[nodiscard]] RouteLimits make_route_limits(const config::RouteConfig& route,
                                            const layers::RouteMetrics& metrics,
                                            admin::Registry& registry);

}  // namespace levee::proxy
