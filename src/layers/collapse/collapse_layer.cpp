#include "layers/collapse/collapse_layer.hpp"

#include <fmt/format.h>

#include <iterator>
#include <utility>

#include "admin/metric_registry.hpp"
#include "layers/collapse/collapse_service.hpp"
#include "proxy/flush_policy_setup.hpp"
#include "proxy/proxy_metrics.hpp"

namespace levee::layers::collapse {

namespace {

// One family for both modes: a gauge's help must be the same for each child.
constexpr std::string_view k_active_slots_help =
    "Collapse slots (upstream calls shared by waiting requests) open now; on batch routes, "
    "batches open, queued or in flight.";

// What every worker's copy of a collapse route shares.
struct CollapseShared {
  config::CollapseConfig config;
  std::uint64_t max_response_bytes = 0;  // the upstream's: bounds a slot's replay buffer
  proxy::RoutePolicy policy;
  std::shared_ptr<SlotTable> table;
  std::shared_ptr<const CollapseRules> rules;
  std::shared_ptr<CollapseCounters> counters;
};

class CollapseLayer final : public runtime::RouteLayer {
 public:
  explicit CollapseLayer(CollapseShared shared) : shared_(std::move(shared)) {}

  [[nodiscard]] core::Next wrap(core::Next inner,
                                const runtime::WorkerLinks& worker) const override {
    return core::Next(core::make_stage(CollapseService<core::Next>(
        std::move(inner), shared_.table, shared_.rules, shared_.counters, worker.worker)));
  }

  void append_stats(std::string& out) const override {
    // collapse_ratio: the share of collapsible requests answered by another one's call.
    const CollapseCounters& c = *shared_.counters;
    const auto leaders = c.leaders.load(std::memory_order_relaxed);
    const auto followers = c.followers.load(std::memory_order_relaxed);
    const auto bypassed = c.bypassed.load(std::memory_order_relaxed);
    const auto gone = c.gone.load(std::memory_order_relaxed);
    const auto collapsible = leaders + followers + bypassed;
    fmt::format_to(
        std::back_inserter(out),
        ",\"collapse\":{{\"slots_in_flight\":{},\"waiters\":{},\"leaders\":{},"
        "\"followers\":{},\"bypassed\":{},\"client_gone\":{},\"collapse_ratio\":{:.4f}}}",
        shared_.table->slots(), shared_.table->waiters(), leaders, followers, bypassed, gone,
        collapsible == 0 ? 0.0 : static_cast<double>(followers) / static_cast<double>(collapsible));
  }

  void drain() const override { shared_.table->flush_all(); }

  void collect_models(std::vector<std::shared_ptr<policy::ModelSlot>>& out) const override {
    if (shared_.policy.model) out.push_back(shared_.policy.model);
  }

  [[nodiscard]] const CollapseShared& shared() const noexcept { return shared_; }

 private:
  CollapseShared shared_;
};

CollapseShared make_shared_state(const runtime::LayerInputs& inputs) {
  const config::RouteConfig& route = inputs.route;
  const bool window = route.collapse.strategy == config::CollapseStrategy::window;
  CollapseShared made;
  made.config = route.collapse;
  made.max_response_bytes = inputs.upstream.max_response_bytes;
  // An inflight slot goes at once: its telemetry says `immediate`, like its flush reason.
  made.policy = inputs.services.policies.make(
      route.name, window ? route.collapse.policy : config::FlushPolicy::immediate,
      route.collapse.tuning);
  auto rules = std::make_shared<CollapseRules>();
  rules->methods = route.collapse.methods;
  rules->vary = route.collapse.vary;
  rules->debug_header = route.collapse.debug_header;
  rules->strategy = window ? Strategy::window : Strategy::inflight;
  if (window) rules->policy = made.policy.policy;
  rules->reporter = made.policy.reporter;
  rules->max_wait = route.collapse.max_wait;
  made.counters = std::make_shared<CollapseCounters>();
  made.counters->metrics = inputs.services.metrics.add_collapse_route(route.name);
  made.table = std::make_shared<SlotTable>(route.collapse.max_slots, route.collapse.max_waiters,
                                           rules->strategy, route.collapse.leader_age,
                                           window ? rules->policy : nullptr, rules->max_wait,
                                           made.max_response_bytes);
  made.rules = std::move(rules);
  return made;
}

}  // namespace

std::unique_ptr<runtime::RouteLayer> make_collapse_layer(const runtime::LayerInputs& inputs) {
  const config::RouteConfig& route = inputs.route;
  if (route.mode != config::RouteMode::collapse || !route.collapse.enabled) return nullptr;
  const auto* before = dynamic_cast<const CollapseLayer*>(inputs.previous);
  const bool unchanged = before != nullptr && before->shared().config == route.collapse &&
                         before->shared().max_response_bytes == inputs.upstream.max_response_bytes;
  CollapseShared shared = unchanged ? before->shared() : make_shared_state(inputs);
  // Weak: a removed route's table is freed with its last request, not kept by its gauges.
  auto& registry = inputs.services.registry;
  registry.replace_gauge_callback("levee_active_batch_slots", k_active_slots_help,
                                  {{"route", route.name}}, [weak = std::weak_ptr(shared.table)] {
                                    auto table = weak.lock();
                                    return table ? static_cast<double>(table->slots()) : 0.0;
                                  });
  registry.replace_gauge_callback("levee_collapse_waiters",
                                  "Requests waiting for another request's upstream call now.",
                                  {{"route", route.name}}, [weak = std::weak_ptr(shared.table)] {
                                    auto table = weak.lock();
                                    return table ? static_cast<double>(table->waiters()) : 0.0;
                                  });
  return std::make_unique<CollapseLayer>(std::move(shared));
}

}  // namespace levee::layers::collapse
