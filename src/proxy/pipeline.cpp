#include "proxy/pipeline.hpp"

#include "layers/metrics/metrics_service.hpp"
#include "layers/upstream/upstream_service.hpp"

namespace levee::proxy {

CollapseShared make_collapse_shared(const config::RouteConfig& route,
                                    const layers::collapse::CollapseMetrics& metrics) {
  if (route.mode != config::RouteMode::collapse || !route.collapse.enabled) return {};
  auto rules = std::make_shared<layers::collapse::CollapseRules>();
  rules->methods = route.collapse.methods;
  rules->vary = route.collapse.vary;
  rules->debug_header = route.collapse.debug_header;
  const bool window = route.collapse.strategy == config::CollapseStrategy::window;
  rules->strategy =
      window ? layers::collapse::Strategy::window : layers::collapse::Strategy::inflight;
  rules->flush_immediately = route.collapse.policy == config::FlushPolicy::immediate;
  rules->max_wait = route.collapse.max_wait;
  auto counters = std::make_shared<layers::collapse::CollapseCounters>();
  counters->metrics = metrics;
  auto table = std::make_shared<layers::collapse::SlotTable>(
      route.collapse.max_slots, route.collapse.max_waiters, rules->strategy,
      route.collapse.leader_age);
  return CollapseShared{std::move(table), std::move(rules), std::move(counters)};
}

std::unique_ptr<core::Handler> build_route_pipeline(const RouteResources& r) {
  // Outermost first. Metrics wraps everything so that every answer, including those a later
  // layer produces itself (503 shed, cache hit), is counted once. Collapse sits above the
  // upstream layer, so that upstream call metrics count real calls only.
  layers::UpstreamService upstream(r.upstream, r.metrics);
  if (r.collapse.table) {  // a collapse route, unless its preset is "disabled"
    using Collapse = layers::collapse::CollapseService<layers::UpstreamService>;
    using CollapseChain = layers::MetricsService<Collapse>;
    return core::erase(CollapseChain(
        Collapse(upstream, r.collapse.table, r.collapse.rules, r.collapse.counters, r.worker),
        r.metrics));
  }
  using PassChain = layers::MetricsService<layers::UpstreamService>;
  return core::erase(PassChain(upstream, r.metrics));
}

}  // namespace levee::proxy
