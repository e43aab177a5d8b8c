#include "proxy/pipeline.hpp"

#include "layers/metrics/metrics_service.hpp"
#include "layers/upstream/upstream_service.hpp"

namespace levee::proxy {

std::unique_ptr<core::Handler> build_route_pipeline(const RouteResources& r) {
  // Outermost first. Metrics wraps everything so that every answer, including those a later
  // layer produces itself (503 shed, cache hit), is counted once.
  using PassChain = layers::MetricsService<layers::UpstreamService>;
  return core::erase(PassChain(layers::UpstreamService(r.upstream, r.metrics), r.metrics));
}

}  // namespace levee::proxy
