#pragma once
// One configuration as the running process holds it (issue 17.4): the config, the route
// table, each route's RouteRuntime, the upstreams' guards and resolved addresses, the cache's
// memory tier and the learned policies' models. Immutable once built. Workers build their own
// chains from it (runtime/worker_routes.hpp) and every request holds the worker's snapshot,
// which holds this, so a configuration is freed when its last request is answered.
//
// Built on the controlling thread, at start-up and on each reload; building a new one from the
// running one (`running`) carries over the state that still means the same thing (each
// factory decides for its layer; proxy/guards.hpp and proxy/cache_setup.hpp for the upstreams'
// guards and the memory tier). Throws std::runtime_error for the operator when an upstream
// address does not resolve.

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/cache_setup.hpp"
#include "proxy/guards.hpp"
#include "router/route_table.hpp"
#include "runtime/layer_factory.hpp"
#include "runtime/route_runtime.hpp"

namespace levee::runtime {

using UpstreamEndpoints =
    std::map<std::string, std::vector<boost::asio::ip::tcp::endpoint>, std::less<>>;

struct Snapshot {
  std::shared_ptr<const config::Config> config;
  std::uint64_t generation = 0;  // 1 at start-up, one more for each reload that took effect
  std::shared_ptr<const router::RouteTable> table;
  std::vector<std::shared_ptr<const RouteRuntime>> routes;  // config->routes order
  proxy::UpstreamGuardMap guards;
  UpstreamEndpoints endpoints;
  std::shared_ptr<layers::cache::MemoryStore> cache_store;  // null: no route caches
  proxy::RedisTierSetup redis;
  proxy::FleetSetup fleet;
  std::vector<std::shared_ptr<policy::ModelSlot>> models;  // the learned routes'

  [[nodiscard]] const RouteRuntime* route(std::string_view name) const noexcept;
  // The "upstreams" member of /stats.
  void append_upstream_stats(std::string& out) const;
};

[[nodiscard]] std::shared_ptr<const Snapshot> build_snapshot(
    std::shared_ptr<const config::Config> config, RuntimeServices& services,
    const Snapshot* running);

}  // namespace levee::runtime
