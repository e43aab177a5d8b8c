#include "runtime/route_runtime.hpp"

#include <fmt/format.h>

#include <iterator>
#include <utility>

#include "core/stage.hpp"
#include "proxy/proxy_metrics.hpp"
#include "runtime/layer_order.hpp"

namespace levee::runtime {

RouteRuntime::RouteRuntime(std::shared_ptr<const config::Config> config,
                           const config::RouteConfig& route, RuntimeServices& services,
                           const proxy::UpstreamGuards& guards,
                           const std::shared_ptr<layers::cache::MemoryStore>& cache_store,
                           const RouteRuntime* previous)
    : config_(std::move(config)), route_(route) {
  const layers::RouteMetrics& metrics = services.metrics.add_route(route.name);
  // The loader refuses a route whose upstream is not defined.
  const config::UpstreamConfig& upstream = *config_->find_upstream(route.upstream);
  for (const LayerEntry& entry : layer_order()) {
    const RouteLayer* before = previous != nullptr ? previous->layer(entry.name) : nullptr;
    const LayerInputs inputs{*config_, route,  upstream,    services,
                             metrics,  guards, cache_store, before};
    if (auto layer = entry.make(inputs)) layers_.push_back(Entry{entry.name, std::move(layer)});
  }
}

std::unique_ptr<core::Handler> RouteRuntime::chain(const WorkerLinks& worker) const {
  core::Next next;
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) {
    next = it->layer->wrap(std::move(next), worker);
  }
  return std::make_unique<core::StageHandler>(std::move(next));
}

void RouteRuntime::append_stats(std::string& out) const {
  // Route names are restricted to [A-Za-z0-9_-] by the loader, so they need no escaping.
  fmt::format_to(std::back_inserter(out), "{{\"name\":\"{}\",\"mode\":\"{}\",\"upstream\":\"{}\"",
                 route_.name, config::to_string(route_.mode), route_.upstream);
  for (const Entry& entry : layers_) entry.layer->append_stats(out);
  out += '}';
}

void RouteRuntime::drain() const {
  for (const Entry& entry : layers_) entry.layer->drain();
}

void RouteRuntime::close() const noexcept {
  for (const Entry& entry : layers_) entry.layer->close();
}

void RouteRuntime::collect_models(std::vector<std::shared_ptr<policy::ModelSlot>>& out) const {
  for (const Entry& entry : layers_) entry.layer->collect_models(out);
}

const RouteLayer* RouteRuntime::layer(std::string_view name) const noexcept {
  for (const Entry& entry : layers_) {
    if (entry.name == name) return entry.layer.get();
  }
  return nullptr;
}

std::vector<std::string_view> RouteRuntime::layer_names() const {
  std::vector<std::string_view> names;
  names.reserve(layers_.size());
  for (const Entry& entry : layers_) names.push_back(entry.name);
  return names;
}

}  // namespace levee::runtime
