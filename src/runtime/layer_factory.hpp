#pragma once
// What a layer factory is given and what it returns (issue 17.3). Each layer's factory lives
// in the layer's own folder (layers/<name>/<name>_layer.hpp), reads its own config section,
// registers its own metrics, and returns its RouteLayer, or null when it has nothing to do on
// the route (admission on a batch route, whose batcher admits; cache without [routes.cache]).
//
// Threading: the controlling thread, at start-up and on each configuration reload.

#include <memory>

#include "config/config.hpp"
#include "runtime/route_layer.hpp"

namespace levee::admin {
class Registry;
}  // namespace levee::admin
namespace levee::layers {
struct RouteMetrics;
}  // namespace levee::layers
namespace levee::layers::cache {
class MemoryStore;
}  // namespace levee::layers::cache
namespace levee::proxy {
class ProxyMetrics;
class FlushPolicySetup;
struct UpstreamGuards;
}  // namespace levee::proxy

namespace levee::runtime {

// Lives as long as the process: what every configuration's layers register with.
struct RuntimeServices {
  admin::Registry& registry;
  proxy::ProxyMetrics& metrics;
  proxy::FlushPolicySetup& policies;
};

struct LayerInputs {
  const config::Config& config;
  const config::RouteConfig& route;
  const config::UpstreamConfig& upstream;  // the route's
  RuntimeServices& services;
  const layers::RouteMetrics& metrics;  // the route's children (kept across reloads by name)
  const proxy::UpstreamGuards& guards;  // of the route's upstream, in this configuration
  // The process's memory tier of the cache; null when no route caches.
  const std::shared_ptr<layers::cache::MemoryStore>& cache_store;
  // This layer on the same-named route of the running configuration, or null: a factory
  // takes its shared state over when its own config section has not changed.
  const RouteLayer* previous;
};

using LayerFactory = std::unique_ptr<RouteLayer> (*)(const LayerInputs& inputs);

struct LayerEntry {
  const char* name;
  LayerFactory make;
};

}  // namespace levee::runtime
