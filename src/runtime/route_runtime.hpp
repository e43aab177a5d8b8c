#pragma once
// Everything one route needs (issue 17.3), built once per route and configuration by running
// every factory of runtime/layer_order.hpp: its layers' shared state (slot table, batcher,
// permit pools, cache counters), registered metrics and /stats blocks. Each worker asks it for
// its own chain, bound to that worker's upstream client and shared cache tier.
//
// Threading: built on the controlling thread; chain() runs on the worker that will use the
// chain; append_stats() on the admin thread. Immutable once built.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/service.hpp"
#include "runtime/layer_factory.hpp"
#include "runtime/route_layer.hpp"

namespace levee::runtime {

class RouteRuntime {
 public:
  // `config` owns `route`. `previous`: the running configuration's route of the same name, or
  // null; each factory takes over the shared state of its own layer there when its section
  // is unchanged.
  RouteRuntime(std::shared_ptr<const config::Config> config, const config::RouteConfig& route,
               RuntimeServices& services, const proxy::UpstreamGuards& guards,
               const std::shared_ptr<layers::cache::MemoryStore>& cache_store,
               const RouteRuntime* previous);

  [[nodiscard]] const config::RouteConfig& config() const noexcept { return route_; }
  // A worker's chain of the route, outermost first, behind the router's Handler.
  [[nodiscard]] std::unique_ptr<core::Handler> chain(const WorkerLinks& worker) const;
  // The route's /stats object.
  void append_stats(std::string& out) const;
  void drain() const;
  void close() const noexcept;
  void collect_models(std::vector<std::shared_ptr<policy::ModelSlot>>& out) const;

  // The layer named as in layer_order(), or null when its factory declined this route.
  [[nodiscard]] const RouteLayer* layer(std::string_view name) const noexcept;
  // The names of the layers the route has, outermost first.
  [[nodiscard]] std::vector<std::string_view> layer_names() const;

 private:
  struct Entry {
    std::string_view name;
    std::unique_ptr<RouteLayer> layer;
  };

  std::shared_ptr<const config::Config> config_;
  const config::RouteConfig& route_;
  std::vector<Entry> layers_;  // outermost first
};

}  // namespace levee::runtime
