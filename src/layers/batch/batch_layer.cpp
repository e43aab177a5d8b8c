#include "layers/batch/batch_layer.hpp"

#include <fmt/format.h>

#include <iterator>
#include <utility>

#include "admin/metric_registry.hpp"
#include "layers/batch/batch_service.hpp"
#include "proxy/flush_policy_setup.hpp"
#include "proxy/policy_stats.hpp"
#include "proxy/proxy_metrics.hpp"

namespace levee::layers::batch {

namespace {

constexpr std::string_view k_active_slots_help =
    "Collapse slots (upstream calls shared by waiting requests) open now; on batch routes, "
    "batches open, queued or in flight.";

// What every worker's copy of a batch route shares, and what it was made from.
struct BatchShared {
  config::BatchConfig config;
  std::uint64_t max_pending = 0;
  config::Duration admission_timeout{0};
  std::uint64_t max_response_bytes = 0;  // the upstream's: bounds a batch response held for demux
  proxy::RoutePolicy policy;
  std::shared_ptr<RouteBatcher> batcher;
  std::shared_ptr<const BatchRules> rules;
  std::shared_ptr<BatchCounters> counters;

  [[nodiscard]] bool made_from(const runtime::LayerInputs& inputs) const {
    return config == inputs.route.batch && max_pending == inputs.route.max_pending &&
           admission_timeout == inputs.route.admission_timeout &&
           max_response_bytes == inputs.upstream.max_response_bytes;
  }
};

class BatchLayer final : public runtime::RouteLayer {
 public:
  explicit BatchLayer(BatchShared shared) : shared_(std::move(shared)) {}

  [[nodiscard]] core::Next wrap(core::Next inner, const runtime::WorkerLinks&) const override {
    return core::Next(core::make_stage(BatchService<core::Next>(std::move(inner), shared_.batcher,
                                                                shared_.rules, shared_.counters)));
  }

  void append_stats(std::string& out) const override {
    const BatchStats stats = shared_.batcher->stats();
    const BatchCounters& c = *shared_.counters;
    fmt::format_to(std::back_inserter(out),
                   ",\"batch\":{{\"open_batches\":{},\"open_items\":{},\"queued_batches\":{},"
                   "\"inflight_batches\":{},\"parked_items\":{},\"admission_waiters\":{},"
                   "\"calls\":{{\"ok\":{},\"call_failed\":{},\"demux_failed\":{}}},"
                   "\"items\":{{\"ok\":{},\"item_failed\":{},\"batch_failed\":{},\"shed\":{},"
                   "\"withdrawn\":{},\"invalid\":{}}},\"flushes\":{{",
                   stats.open_batches, stats.open_items, stats.queued_batches,
                   stats.inflight_batches, stats.pending_items, stats.admission_waiters,
                   c.calls(CallOutcome::ok), c.calls(CallOutcome::call_failed),
                   c.calls(CallOutcome::demux_failed), c.items(ItemOutcomeKind::ok),
                   c.items(ItemOutcomeKind::item_failed), c.items(ItemOutcomeKind::batch_failed),
                   c.items(ItemOutcomeKind::shed), c.items(ItemOutcomeKind::withdrawn),
                   c.items(ItemOutcomeKind::invalid));
    // Flushes by reason and the items they carried: the page's batch sizes and reasons.
    for (std::size_t i = 0; i < k_flush_reasons; ++i) {
      const auto reason = static_cast<FlushReason>(i);
      fmt::format_to(std::back_inserter(out), "{}\"{}\":{}", i == 0 ? "" : ",", to_string(reason),
                     c.flushes(reason));
    }
    fmt::format_to(std::back_inserter(out), "}},\"flushed_items\":{}}}", c.flushed_items());
    proxy::append_policy_stats(out, shared_.policy);
  }

  void drain() const override { shared_.batcher->shutdown(); }
  void close() const noexcept override { shared_.batcher->close(); }

  void collect_models(std::vector<std::shared_ptr<policy::ModelSlot>>& out) const override {
    if (shared_.policy.model) out.push_back(shared_.policy.model);
  }

  [[nodiscard]] const BatchShared& shared() const noexcept { return shared_; }

 private:
  BatchShared shared_;
};

BatchShared make_shared_state(const runtime::LayerInputs& inputs) {
  const config::RouteConfig& route = inputs.route;
  const config::BatchConfig& batch = route.batch;
  BatchShared made;
  made.config = batch;
  made.max_pending = route.max_pending;
  made.admission_timeout = route.admission_timeout;
  made.max_response_bytes = inputs.upstream.max_response_bytes;
  made.policy = inputs.services.policies.make(route.name, batch.policy, batch.tuning);
  auto rules = std::make_shared<BatchRules>();
  rules->upstream_path = batch.upstream_path;
  rules->payload.format = static_cast<PayloadFormat>(batch.payload);
  if (batch.payload == config::BatchPayload::wrapped) rules->payload.wrap_path = batch.wrap_path;
  rules->demux.format = static_cast<ResponseFormat>(batch.response);
  rules->demux.mode = static_cast<DemuxMode>(batch.demux);
  rules->demux.results_path = batch.results_path;
  rules->demux.id_field = batch.id_field;
  rules->demux.error_field = batch.item_error_field;
  rules->max_item_bytes = batch.max_item_bytes;
  rules->item_error_status = batch.item_error_status;
  rules->max_response_bytes = made.max_response_bytes;
  rules->debug_header = batch.debug_header;
  rules->reporter = made.policy.reporter;

  BatchLimits limits;
  limits.max_batch_size = batch.max_batch_size;
  limits.max_batch_bytes = batch.max_batch_bytes;
  limits.max_wait = batch.max_wait;
  limits.max_inflight_batches = batch.max_inflight_batches;
  limits.max_queued_batches = batch.max_queued_batches;
  limits.max_pending_items = route.max_pending;
  limits.admission_timeout = route.admission_timeout;
  made.counters =
      std::make_shared<BatchCounters>(inputs.services.metrics.add_batch_route(route.name));
  if (made.policy.reporter) made.counters->report_to(made.policy.reporter, limits);
  made.batcher = RouteBatcher::create(limits, made.policy.policy, made.counters);
  made.rules = std::move(rules);
  return made;
}

}  // namespace

std::unique_ptr<runtime::RouteLayer> make_batch_layer(const runtime::LayerInputs& inputs) {
  const config::RouteConfig& route = inputs.route;
  if (route.mode != config::RouteMode::batch) return nullptr;
  const auto* before = dynamic_cast<const BatchLayer*>(inputs.previous);
  BatchShared shared = before != nullptr && before->shared().made_from(inputs)
                           ? before->shared()
                           : make_shared_state(inputs);
  // Weak: a removed route's batcher is freed with its last request, not kept by its gauges.
  const auto read = [weak = std::weak_ptr(shared.batcher)](auto field) {
    return [weak, field] {
      auto batcher = weak.lock();
      return batcher ? static_cast<double>(field(batcher->stats())) : 0.0;
    };
  };
  auto& registry = inputs.services.registry;
  const std::string& name = route.name;
  registry.replace_gauge_callback("levee_active_batch_slots", k_active_slots_help,
                                  {{"route", name}}, read([](const BatchStats& stats) {
                                    return stats.open_batches + stats.queued_batches +
                                           stats.inflight_batches;
                                  }));
  registry.replace_gauge_callback(
      "levee_batch_queued_batches", "Formed batches waiting for a free call slot now.",
      {{"route", name}}, read([](const BatchStats& stats) { return stats.queued_batches; }));
  registry.replace_gauge_callback(
      "levee_batch_parked_items",
      "Items admitted and not yet answered (open, queued and in flight).", {{"route", name}},
      read([](const BatchStats& stats) { return stats.pending_items; }));
  return std::make_unique<BatchLayer>(std::move(shared));
}

}  // namespace levee::layers::batch
