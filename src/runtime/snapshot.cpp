#include "runtime/snapshot.hpp"

#include <fmt/format.h>

#include <iterator>
#include <stdexcept>
#include <utility>

#include "admin/metric_registry.hpp"
#include "config/resolve.hpp"
#include "layers/breaker/circuit_breaker.hpp"
#include "proxy/flush_policy_setup.hpp"

namespace levee::runtime {

const RouteRuntime* Snapshot::route(std::string_view name) const noexcept {
  for (const auto& route : routes) {
    if (route->config().name == name) return route.get();
  }
  return nullptr;
}

void Snapshot::append_upstream_stats(std::string& out) const {
  auto it = std::back_inserter(out);
  out += '[';
  const char* separator = "";
  for (const auto& [name, guards] : this->guards) {
    // Upstream names are restricted to [A-Za-z0-9_-] by the loader, like route names.
    fmt::format_to(it, "{}{{\"name\":\"{}\",\"inflight\":{},\"waiting\":{},\"breaker\":", separator,
                   name, guards.inflight->in_use(), guards.inflight->waiting());
    if (guards.breaker) {
      fmt::format_to(it, "{{\"state\":\"{}\",\"opened\":{},\"rejected\":{}}}}}",
                     layers::breaker::to_string(guards.breaker->state()),
                     guards.breaker->opened_total(), guards.breaker->rejected_total());
    } else {
      out += "null}";
    }
    separator = ",";
  }
  out += ']';
}

std::shared_ptr<const Snapshot> build_snapshot(std::shared_ptr<const config::Config> config,
                                               RuntimeServices& services, const Snapshot* running) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->config = config;
  snapshot->generation = running != nullptr ? running->generation + 1 : 1;
  // The preflight resolved these already; a name whose answer changed since fails here.
  for (const auto& upstream : config->upstreams) {
    auto resolved = config::resolve(upstream.address);
    if (!resolved) {
      throw std::runtime_error(fmt::format("cannot resolve upstream address \"{}\": {}",
                                           upstream.address.to_string(), resolved.error()));
    }
    snapshot->endpoints.emplace(upstream.name, std::move(resolved).value());
  }
  snapshot->table = std::make_shared<const router::RouteTable>(config->routes);
  snapshot->guards = proxy::make_upstream_guards(
      *config, services.registry, running != nullptr ? running->config.get() : nullptr,
      running != nullptr ? &running->guards : nullptr);
  snapshot->cache_store = proxy::make_cache_store(
      *config, services.registry, running != nullptr ? running->cache_store : nullptr);
  snapshot->redis = proxy::make_redis_tier_setup(*config, services.registry);
  snapshot->fleet = proxy::make_fleet_setup(*config);
  for (const auto& route : config->routes) {
    const RouteRuntime* before = running != nullptr ? running->route(route.name) : nullptr;
    snapshot->routes.push_back(std::make_shared<const RouteRuntime>(
        config, route, services, snapshot->guards.at(route.upstream), snapshot->cache_store,
        before));
    snapshot->routes.back()->collect_models(snapshot->models);
  }
  // Models made for routes that were carried over are the running ones; drop the list of
  // what this build made so that the next build starts empty.
  (void)services.policies.take_models();
  return snapshot;
}

}  // namespace levee::runtime
