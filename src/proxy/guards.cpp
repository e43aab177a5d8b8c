#include "proxy/guards.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "admin/metrics.hpp"
#include "upstream/tls_client_context.hpp"

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

upstream::TransportPtr make_transport(const config::UpstreamConfig& upstream,
                                      admin::Registry& registry) {
  auto transport = std::make_shared<upstream::UpstreamTransport>();
  auto context = upstream::make_tls_client_context(upstream);
  if (!context) {
    throw std::runtime_error(fmt::format("upstreams.{}.{}: {}", upstream.name, context.error().key,
                                         context.error().message));
  }
  transport->tls = std::move(context).value();
  if (upstream.tls.enabled && !upstream.tls.verify) {
    spdlog::warn(
        "upstream {}: tls_verify = false: its certificate is NOT verified, so anyone on the "
        "path can impersonate it; use this only for tests",
        upstream.name);
  }
  transport->metrics.tls_handshake_failures =
      &registry
           .ensure_counter_family(
               "levee_upstream_tls_handshake_failures_total",
               "TLS handshakes with an upstream that failed (verification, protocol, ALPN).",
               {"upstream"})
           .with({upstream.name});
  transport->metrics.h2_goaways =
      &registry
           .ensure_counter_family("levee_upstream_h2_goaways_total",
                                  "HTTP/2 GOAWAY frames received from an upstream.", {"upstream"})
           .with({upstream.name});
  transport->metrics.h2_connections =
      &registry
           .ensure_gauge_family("levee_upstream_h2_connections",
                                "HTTP/2 connections to an upstream open now, all workers.",
                                {"upstream"})
           .with({upstream.name});
  transport->metrics.h2_streams =
      &registry
           .ensure_gauge_family("levee_upstream_h2_streams",
                                "HTTP/2 streams in flight to an upstream now, all workers.",
                                {"upstream"})
           .with({upstream.name});
  return transport;
}

}  // namespace

std::uint64_t permit_waiters(std::uint64_t capacity) noexcept {
  return std::max<std::uint64_t>(capacity, 64);
}

UpstreamGuardMap make_upstream_guards(const config::Config& config, admin::Registry& registry,
                                      const config::Config* running,
                                      const UpstreamGuardMap* running_guards) {
  UpstreamGuardMap guards;
  auto& transitions = registry.ensure_counter_family(
      "levee_breaker_transitions_total",
      "Circuit breaker state changes per upstream, by the state entered.", {"upstream", "to"});
  for (const config::UpstreamConfig& upstream : config.upstreams) {
    const std::string& name = upstream.name;
    const config::UpstreamConfig* before =
        running != nullptr ? running->find_upstream(name) : nullptr;
    const UpstreamGuards* had = nullptr;
    if (before != nullptr && running_guards != nullptr) {
      if (auto it = running_guards->find(name); it != running_guards->end()) had = &it->second;
    }
    UpstreamGuards entry;
    if (had != nullptr && before->max_inflight == upstream.max_inflight) {
      entry.inflight = had->inflight;
    } else {
      entry.inflight =
          core::PermitPool::create(upstream.max_inflight, permit_waiters(upstream.max_inflight));
    }
    // The gauges read the pool through a weak pointer: a removed upstream's pool is not kept.
    registry.replace_gauge_callback("levee_upstream_inflight",
                                    "Calls in flight to an upstream now, all workers together.",
                                    {{"upstream", name}}, [pool = std::weak_ptr(entry.inflight)] {
                                      auto held = pool.lock();
                                      return held ? static_cast<double>(held->in_use()) : 0.0;
                                    });
    registry.replace_gauge_callback(
        "levee_upstream_waiting",
        "Calls waiting for one of an upstream's max_inflight permits now.", {{"upstream", name}},
        [pool = std::weak_ptr(entry.inflight)] {
          auto held = pool.lock();
          return held ? static_cast<double>(held->waiting()) : 0.0;
        });
    if (had != nullptr && had->breaker && upstream.breaker.enabled &&
        before->address == upstream.address && before->breaker == upstream.breaker) {
      entry.breaker = had->breaker;
    } else if (upstream.breaker.enabled) {
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
    }
    if (entry.breaker) {
      registry.replace_gauge_callback(
          "levee_breaker_state",
          "Circuit breaker state per upstream: 0 closed, 1 open, 2 half-open.",
          {{"upstream", name}}, [weak = std::weak_ptr(entry.breaker)] {
            auto held = weak.lock();
            return held ? static_cast<double>(static_cast<int>(held->state())) : 0.0;
          });
    }
    entry.transport = make_transport(upstream, registry);
    guards.emplace(name, std::move(entry));
  }
  return guards;
}

std::shared_ptr<const layers::limit::LimitRules> make_limit_rules(
    const config::RouteConfig& route, const layers::RouteMetrics& metrics) {
  auto rules = std::make_shared<layers::limit::LimitRules>();
  rules->route = route.name;
  rules->upstream = route.upstream;
  rules->timeout = route.admission_timeout;
  rules->shed.by_reason = metrics.shed;
  return rules;
}

}  // namespace levee::proxy
