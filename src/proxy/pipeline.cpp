#include "proxy/pipeline.hpp"

#include "layers/batch/batch_service.hpp"
#include "layers/breaker/breaker_service.hpp"
#include "layers/limit/admission_service.hpp"
#include "layers/limit/upstream_limit_service.hpp"
#include "layers/metrics/metrics_service.hpp"
#include "layers/upstream/upstream_service.hpp"

namespace levee::proxy {

CollapseShared make_collapse_shared(const config::RouteConfig& route,
                                    const layers::collapse::CollapseMetrics& metrics,
                                    const RoutePolicy& policy, std::size_t max_response_bytes) {
  if (route.mode != config::RouteMode::collapse || !route.collapse.enabled) return {};
  auto rules = std::make_shared<layers::collapse::CollapseRules>();
  rules->methods = route.collapse.methods;
  rules->vary = route.collapse.vary;
  rules->debug_header = route.collapse.debug_header;
  const bool window = route.collapse.strategy == config::CollapseStrategy::window;
  rules->strategy =
      window ? layers::collapse::Strategy::window : layers::collapse::Strategy::inflight;
  if (window) rules->policy = policy.policy;
  rules->reporter = policy.reporter;
  rules->max_wait = route.collapse.max_wait;
  auto counters = std::make_shared<layers::collapse::CollapseCounters>();
  counters->metrics = metrics;
  auto table = std::make_shared<layers::collapse::SlotTable>(
      route.collapse.max_slots, route.collapse.max_waiters, rules->strategy,
      route.collapse.leader_age, window ? rules->policy : nullptr, rules->max_wait,
      max_response_bytes);
  return CollapseShared{std::move(table), std::move(rules), std::move(counters)};
}

BatchShared make_batch_shared(const config::RouteConfig& route,
                              const layers::batch::BatchMetricChildren& metrics,
                              const RoutePolicy& policy, std::size_t max_response_bytes) {
  if (route.mode != config::RouteMode::batch) return {};
  const config::BatchConfig& batch = route.batch;
  namespace lb = layers::batch;
  auto rules = std::make_shared<lb::BatchRules>();
  rules->upstream_path = batch.upstream_path;
  rules->payload.format = static_cast<lb::PayloadFormat>(batch.payload);
  if (batch.payload == config::BatchPayload::wrapped) rules->payload.wrap_path = batch.wrap_path;
  rules->demux.format = static_cast<lb::ResponseFormat>(batch.response);
  rules->demux.mode = static_cast<lb::DemuxMode>(batch.demux);
  rules->demux.results_path = batch.results_path;
  rules->demux.id_field = batch.id_field;
  rules->demux.error_field = batch.item_error_field;
  rules->max_item_bytes = batch.max_item_bytes;
  rules->item_error_status = batch.item_error_status;
  rules->max_response_bytes = max_response_bytes;
  rules->debug_header = batch.debug_header;
  rules->reporter = policy.reporter;

  BatchLimits limits;
  limits.max_batch_size = batch.max_batch_size;
  limits.max_batch_bytes = batch.max_batch_bytes;
  limits.max_wait = batch.max_wait;
  limits.max_inflight_batches = batch.max_inflight_batches;
  limits.max_queued_batches = batch.max_queued_batches;
  limits.max_pending_items = route.max_pending;
  limits.admission_timeout = route.admission_timeout;
  auto counters = std::make_shared<lb::BatchCounters>(metrics);
  if (policy.reporter) counters->report_to(policy.reporter, limits);
  auto batcher = lb::RouteBatcher::create(limits, policy.policy, counters);
  return BatchShared{std::move(batcher), std::move(rules), std::move(counters)};
}

std::unique_ptr<core::Handler> build_route_pipeline(const RouteResources& r) {
  // Outermost first. Metrics wraps everything so that every answer, including those a later
  // layer produces itself (503 shed, cache hit), is counted once. Admission reserves a
  // permit before anything parks. The cache answers hits before a slot is looked for. Collapse and
  // batch sit above the breaker and the upstream limit, so that a slot or a batch is one call to
  // them and every member shares its answer (an open breaker's 503 included); the limit sits
  // innermost, counting real calls only.
  using layers::UpstreamService;
  using Limited = layers::limit::UpstreamLimitService<UpstreamService>;
  using Guarded = layers::breaker::BreakerService<Limited>;
  using layers::limit::AdmissionService;
  const auto shed = static_cast<std::size_t>(layers::limit::ShedReason::breaker_open);
  Guarded guarded(Limited(UpstreamService(r.upstream, r.metrics, r.route.forward_trailers),
                          r.guards.inflight, r.limits.rules),
                  r.guards.breaker, r.route.upstream,
                  layers::breaker::BreakerMetrics{r.metrics.shed[shed], nullptr});
  using layers::cache::CacheService;
  // A route without [routes.cache] has an empty CacheShared: its cache layer passes through.
  layers::cache::SharedTier* tier = r.cache.store ? r.shared_tier : nullptr;
  if (r.collapse.table) {  // a collapse route, unless its preset is "disabled"
    using Collapse = layers::collapse::CollapseService<Guarded>;
    using Cached = CacheService<Collapse>;
    using CollapseChain = layers::MetricsService<AdmissionService<Cached>>;
    return core::erase(CollapseChain(
        AdmissionService<Cached>(Cached(Collapse(std::move(guarded), r.collapse.table,
                                                 r.collapse.rules, r.collapse.counters, r.worker),
                                        r.cache, tier),
                                 r.limits.admission, r.limits.rules),
        r.metrics));
  }
  if (r.batch.batcher) {
    using Batch = layers::batch::BatchService<Guarded>;
    using BatchChain = layers::MetricsService<Batch>;
    return core::erase(BatchChain(
        Batch(std::move(guarded), r.batch.batcher, r.batch.rules, r.batch.counters), r.metrics));
  }
  using Cached = CacheService<Guarded>;
  using PassChain = layers::MetricsService<AdmissionService<Cached>>;
  return core::erase(PassChain(AdmissionService<Cached>(Cached(std::move(guarded), r.cache, tier),
                                                        r.limits.admission, r.limits.rules),
                               r.metrics));
}

}  // namespace levee::proxy
