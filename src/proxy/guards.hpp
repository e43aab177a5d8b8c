#pragma once
// What protects an upstream, shared by every worker and route (DESIGN.md "Backpressure",
// "Cache and circuit breaker"): the in-flight permit pool (max_inflight) and the circuit
// breaker. Built for each configuration (start-up and reload) on the controlling thread; the
// configuration snapshot that holds them outlives every request that uses them.

#include <map>
#include <memory>
#include <string>

#include "admin/metric_registry.hpp"
#include "config/config.hpp"
#include "core/permit_pool.hpp"
#include "layers/breaker/circuit_breaker.hpp"
#include "layers/limit/permit_gate.hpp"
#include "layers/metrics/route_metrics.hpp"
#include "upstream/upstream_transport.hpp"

namespace levee::proxy {

struct UpstreamGuards {
  std::shared_ptr<core::PermitPool> inflight;
  std::shared_ptr<layers::breaker::CircuitBreaker> breaker;  // null: breaker.enabled = false
  // The TLS context and transport metrics every worker's connections to it share.
  upstream::TransportPtr transport;
};

using UpstreamGuardMap = std::map<std::string, UpstreamGuards, std::less<>>;

// One entry per upstream; registers levee_upstream_inflight, levee_upstream_waiting,
// levee_breaker_state and levee_breaker_transitions_total, and logs each breaker transition.
// Builds each upstream's transport: its TLS context (throws std::runtime_error when that
// fails; the preflight reports it first) with a loud warning for tls_verify = false, and
// registers levee_upstream_tls_handshake_failures_total, levee_upstream_h2_goaways_total,
// levee_upstream_h2_connections and levee_upstream_h2_streams.
// `running` (a reload: the running configuration and its guards, else null) hands over what
// still means the same thing: the permit pool of an upstream whose max_inflight is unchanged,
// and the breaker, with its state, of one whose address and breaker settings are unchanged.
[[nodiscard]] UpstreamGuardMap make_upstream_guards(
    const config::Config& config, admin::Registry& registry,
    const config::Config* running = nullptr, const UpstreamGuardMap* running_guards = nullptr);

// How many may wait for a pool of `capacity` permits: as many as it holds (at least 64), so a
// surge can at most double what is held and the rest is shed at once.
[[nodiscard]] std::uint64_t permit_waiters(std::uint64_t capacity) noexcept;

// A route's limit rules (its name, upstream, admission_timeout and shed counters).
[[nodiscard]] std::shared_ptr<const layers::limit::LimitRules> make_limit_rules(
    const config::RouteConfig& route, const layers::RouteMetrics& metrics);

}  // namespace levee::proxy
