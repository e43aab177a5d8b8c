#include "proxy/guards.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "admin/metrics.hpp"

namespace levee::proxy {

namespace {

namespace breaker = layers::breaker;

breaker::BreakerSettings breaker_settings(const config::BreakerConfig& config) {
  breaker::BreakerSettings settings;
  settings.failure_threshold = config.failure_threshold;
  settings.window = config.window;
  settings.open_for = config.open_for;
  settings.min_calls = config.min_calls;
  settings.half_open_probes = config.half_open_probes;
  settings.count_5xx = config.count_5xx;
  return settings;
}

// The line of waiters for a pool is as long as the pool (at least 64): a surge can at most
// double what is held, and the rest is shed at once.
std::uint64_t max_waiters(std::uint64_t capacity) { return std::max<std::uint64_t>(capacity, 64); }

}  // namespace

UpstreamGuardMap make_upstream_guards(const config::Config& config, admin::Registry& registry) {
  UpstreamGuardMap guards;
  auto& transitions = registry.counter_family(
      "levee_breaker_transitions_total",
      "Circuit breaker state changes per upstream, by the state entered.", {"upstream", "to"});
  for (const config::UpstreamConfig& upstream : config.upstreams) {
    UpstreamGuards entry;
    entry.inflight =
        core::PermitPool::create(upstream.max_inflight, max_waiters(upstream.max_inflight));
    const std::string& name = upstream.name;
    registry.gauge_callback(
        "levee_upstream_inflight", "Calls in flight to an upstream now, all workers together.",
        {{"upstream", name}},
        [pool = entry.inflight] { return static_cast<double>(pool->in_use()); });
    registry.gauge_callback(
        "levee_upstream_waiting",
        "Calls waiting for one of an upstream's max_inflight permits now.", {{"upstream", name}},
        [pool = entry.inflight] { return static_cast<double>(pool->waiting()); });
    if (upstream.breaker.enabled) {
      std::array<admin::Counter*, 3> entered{};
      for (auto state : {breaker::State::closed, breaker::State::open, breaker::State::half_open}) {
        entered[static_cast<std::size_t>(state)] =
            &transitions.with({name, breaker::to_string(state)});
      }
      auto observer = [name, entered](breaker::State from, breaker::State to) {
        entered[static_cast<std::size_t>(to)]->inc();
        if (to == breaker::State::open) {
          spdlog::warn(
              "upstream {}: circuit breaker {} -> open: requests get 503 until it "
              "recovers",
              name, breaker::to_string(from));
        } else {
          spdlog::info("upstream {}: circuit breaker {} -> {}", name, breaker::to_string(from),
                       breaker::to_string(to));
        }
      };
      entry.breaker = std::make_shared<breaker::CircuitBreaker>(breaker_settings(upstream.breaker),
                                                                std::move(observer));
      registry.gauge_callback("levee_breaker_state",
                              "Circuit breaker state per upstream: 0 closed, 1 open, 2 half-open.",
                              {{"upstream", name}}, [b = entry.breaker] {
                                return static_cast<double>(static_cast<int>(b->state()));
                              });
    }
    guards.emplace(name, std::move(entry));
  }
  return guards;
}

RouteLimits make_route_limits(const config::RouteConfig& route, const layers::RouteMetrics& metrics,
                              admin::Registry& registry) {
  auto rules = std::make_shared<layers::limit::LimitRules>();
  rules->route = route.name;
  rules->upstream = route.upstream;
  rules->timeout = route.admission_timeout;
  rules->shed.by_reason = metrics.shed;
  RouteLimits limits;
  limits.rules = std::move(rules);
  if (route.mode == config::RouteMode::batch) return limits;
  const std::uint64_t capacity =
      route.max_pending != 0 ? route.max_pending : config::k_default_max_pending;
  limits.admission = core::PermitPool::create(capacity, max_waiters(capacity));
  registry.gauge_callback(
      "levee_route_pending", "Requests holding one of a route's max_pending permits now.",
      {{"route", route.name}},
      [pool = limits.admission] { return static_cast<double>(pool->in_use()); });
  registry.gauge_callback(
      "levee_admission_waiting", "Requests waiting for one of a route's max_pending permits now.",
      {{"route", route.name}},
      [pool = limits.admission] { return static_cast<double>(pool->waiting()); });
  return limits;
}

}  // namespace levee::proxy
