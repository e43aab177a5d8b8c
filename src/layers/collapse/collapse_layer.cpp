#include "layers/collapse/collapse_layer.hpp"

#include <fmt/format.h>

#include <iterator>
#include <utility>

#include "admin/metric_registry.hpp"
#include "layers/collapse/collapse_service.hpp"
#include "proxy/flush_policy_setup.hpp"
#include "proxy/policy_stats.hpp"
#include "proxy/proxy_metrics.hpp"

namespace levee::layers::collapse {

namespace {

// One family for both modes: a gauge's help must be the same for each child.
constexpr std::string_view k_active_slots_help =
    "Collapse slots (upstream calls shared by waiting requests) open now; on batch routes, "
    "batches open, queued or in flight.";

// `{"<name>":<count>,...}` of counters indexed by an enum's values (fleet::to_string names).
template <class Enum, std::size_t N>
void append_by_name(std::string& out, const std::array<std::atomic<std::uint64_t>, N>& counts) {
  out += '{';
  for (std::size_t i = 0; i < N; ++i) {
    fmt::format_to(std::back_inserter(out), "{}\"{}\":{}", i == 0 ? "" : ",",
                   fleet::to_string(static_cast<Enum>(i)),
                   counts[i].load(std::memory_order_relaxed));
  }
  out += '}';
}

// The "fleet" member of a collapse route's /stats (docs/fleet.md).
void append_fleet_stats(std::string& out, const fleet::FleetCounters& c) {
  out.pop_back();  // inside the "collapse" object
  out += ",\"fleet\":{\"leases\":";
  append_by_name<fleet::LeaseOutcome>(out, c.leases);
  fmt::format_to(std::back_inserter(out), ",\"hits\":{},\"stale_hits\":{},\"fallbacks\":",
                 c.hits.load(std::memory_order_relaxed),
                 c.stale_hits.load(std::memory_order_relaxed));
  append_by_name<fleet::Fallback>(out, c.fallbacks);
  out += ",\"unshared\":";
  append_by_name<fleet::Unshared>(out, c.unshared);
  fmt::format_to(std::back_inserter(out), ",\"redis_commands\":{}}}}}",
                 c.commands.load(std::memory_order_relaxed));
}

// What every worker's copy of a collapse route shares.
struct CollapseShared {
  config::CollapseConfig config;
  std::uint64_t max_response_bytes = 0;  // the upstream's: bounds a slot's replay buffer
  config::Duration request_timeout{0};   // the upstream's: the fleet's default lease_ttl
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
    return core::Next(core::make_stage(CollapseService<core::Next>(std::move(inner), shared_.table,
                                                                   shared_.rules, shared_.counters,
                                                                   worker.worker, worker.fleet)));
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
    if (c.fleet) append_fleet_stats(out, *c.fleet);
    proxy::append_policy_stats(out, shared_.policy);
  }

  void drain() const override { shared_.table->flush_all(); }

  void collect_models(std::vector<std::shared_ptr<policy::ModelSlot>>& out) const override {
    if (shared_.policy.model) out.push_back(shared_.policy.model);
  }

  [[nodiscard]] const CollapseShared& shared() const noexcept { return shared_; }

 private:
  CollapseShared shared_;
};

// One child per enum value, labelled (route, its fleet::to_string name).
template <class Enum, std::size_t N>
void children_by_name(std::array<admin::Counter*, N>& into, admin::CounterFamily& family,
                      const std::string& route) {
  for (std::size_t i = 0; i < N; ++i) {
    into[i] = &family.with({route, std::string(fleet::to_string(static_cast<Enum>(i)))});
  }
}

// The route's fleet families' children (created on first use, shared by every fleet route).
fleet::FleetMetrics make_fleet_metrics(admin::Registry& registry, const std::string& route) {
  fleet::FleetMetrics metrics;
  auto& leases = registry.ensure_counter_family(
      "levee_fleet_leases_total",
      "Fleet collapse slots by what their lease did: won (this instance called upstream), "
      "waited (another instance held it), taken_over (won after waiting: the holder was gone), "
      "expired (this instance's lease ran out before its answer).",
      {"route", "outcome"});
  children_by_name<fleet::LeaseOutcome>(metrics.leases, leases, route);
  auto& hits = registry.ensure_counter_family(
      "levee_fleet_hits_total",
      "Fleet collapse slots answered by another instance's upstream call, read from Redis; "
      "freshness stale: an earlier answer served while another instance refreshes.",
      {"route", "freshness"});
  metrics.hits = &hits.with({route, "fresh"});
  metrics.stale_hits = &hits.with({route, "stale"});
  auto& fallbacks = registry.ensure_counter_family(
      "levee_fleet_fallbacks_total",
      "Fleet collapse slots that called upstream without the fleet, by reason: redis_error "
      "(Redis down, slow or failing), wait_expired, unshared (the holder kept its answer), "
      "bad_answer (an answer in Redis that did not decode).",
      {"route", "reason"});
  children_by_name<fleet::Fallback>(metrics.fallbacks, fallbacks, route);
  auto& unshared = registry.ensure_counter_family(
      "levee_fleet_unshared_total",
      "Answers this instance got as the lease holder and kept from the fleet, by reason "
      "(set_cookie, no_store, private, status, too_large).",
      {"route", "reason"});
  children_by_name<fleet::Unshared>(metrics.unshared, unshared, route);
  metrics.commands =
      &registry
           .ensure_counter_family(
               "levee_fleet_redis_commands_total",
               "Redis round trips of fleet collapsing (lease scripts), by route.", {"route"})
           .with({route});
  return metrics;
}

std::shared_ptr<const fleet::FleetRules> make_fleet_rules(const config::RouteConfig& route,
                                                          const config::UpstreamConfig& upstream) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const config::CollapseConfig& collapse = route.collapse;
  auto rules = std::make_shared<fleet::FleetRules>();
  rules->route = route.name;
  rules->upstream = upstream.name;
  const auto at_least_1ms = [](config::Duration d) {
    return std::max(duration_cast<milliseconds>(d), milliseconds(1));
  };
  // A lease outlives its call: the upstream's request_timeout bounds the call.
  rules->lease_ttl =
      at_least_1ms(collapse.lease_ttl.count() > 0 ? collapse.lease_ttl : upstream.request_timeout);
  rules->fleet_wait =
      at_least_1ms(collapse.fleet_wait.count() > 0 ? collapse.fleet_wait : collapse.max_wait);
  rules->stale = duration_cast<milliseconds>(collapse.fleet_stale);
  rules->max_bytes = collapse.fleet_max_bytes;
  rules->wait_limit =
      at_least_1ms(upstream.request_timeout) + 2 * rules->lease_ttl + rules->fleet_wait;
  return rules;
}

CollapseShared make_shared_state(const runtime::LayerInputs& inputs) {
  const config::RouteConfig& route = inputs.route;
  const bool window = route.collapse.strategy == config::CollapseStrategy::window;
  CollapseShared made;
  made.config = route.collapse;
  made.max_response_bytes = inputs.upstream.max_response_bytes;
  made.request_timeout = inputs.upstream.request_timeout;
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
  if (route.collapse.fleet) {
    rules->fleet = make_fleet_rules(route, inputs.upstream);
    made.counters->fleet = std::make_shared<fleet::FleetCounters>();
    made.counters->fleet->metrics = make_fleet_metrics(inputs.services.registry, route.name);
  }
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
  const bool unchanged =
      before != nullptr && before->shared().config == route.collapse &&
      before->shared().max_response_bytes == inputs.upstream.max_response_bytes &&
      before->shared().request_timeout == inputs.upstream.request_timeout;
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
