#pragma once
// One layer of one route, as the runtime holds it (issue 17.3). A layer factory
// (runtime/layer_order.hpp) makes it once per route and configuration: it owns the state every
// worker's copy of the layer shares (a slot table, a batcher, a permit pool, counters) and
// makes each worker's stage of the chain around the rest of it.
//
// Threading: made and asked for /stats on the controlling and admin threads; wrap() runs on the
// worker whose chain it builds. Ownership: a RouteRuntime owns its layers; a configuration
// snapshot owns its RouteRuntimes, and every request holds its snapshot (core::Dispatch), so a
// layer of a removed route lives until its last request is answered.

#include <memory>
#include <string>
#include <vector>

#include "core/stage.hpp"

namespace levee::upstream {
class UpstreamClient;
}  // namespace levee::upstream
namespace levee::layers::cache {
class SharedTier;
}  // namespace levee::layers::cache
namespace levee::layers::collapse::fleet {
class FleetClient;
}  // namespace levee::layers::collapse::fleet
namespace levee::policy {
class ModelSlot;
}  // namespace levee::policy

namespace levee::runtime {

// What a worker lends the stages it builds; it outlives them (they are freed before the worker).
struct WorkerLinks {
  upstream::UpstreamClient* client = nullptr;        // the worker's client for the route's upstream
  layers::cache::SharedTier* shared_tier = nullptr;  // the worker's; null: memory only
  unsigned worker = 0;                               // the worker's index, for debug headers
  // The worker's connection to the fleet's Redis; null unless a route collapses fleet-wide.
  std::shared_ptr<layers::collapse::fleet::FleetClient> fleet;
};

class RouteLayer {
 public:
  virtual ~RouteLayer() = default;

  // This worker's stage of the layer around `inner`, the rest of the chain (empty for the
  // innermost layer, which makes the call itself).
  [[nodiscard]] virtual core::Next wrap(core::Next inner, const WorkerLinks& worker) const = 0;
  // Appends the layer's members of its route's /stats object, each preceded by a comma.
  virtual void append_stats(std::string& out) const {}
  // Shutdown: what is parked goes upstream now (reason shutdown).
  virtual void drain() const {}
  // Every worker has stopped for good: post or spawn nothing any more.
  virtual void close() const noexcept {}
  // The learned policy's model, for the ModelWatcher.
  virtual void collect_models(std::vector<std::shared_ptr<policy::ModelSlot>>& out) const {}
};

}  // namespace levee::runtime
