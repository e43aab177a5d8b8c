#include "layers/upstream/upstream_layer.hpp"

#include "layers/upstream/upstream_service.hpp"

namespace levee::layers {

namespace {

class UpstreamLayer final : public runtime::RouteLayer {
 public:
  UpstreamLayer(const RouteMetrics& metrics, bool forward_trailers)
      : metrics_(metrics), forward_trailers_(forward_trailers) {}

  // Innermost: `inner` is empty, this stage makes the call.
  [[nodiscard]] core::Next wrap(core::Next, const runtime::WorkerLinks& worker) const override {
    return core::Next(
        core::make_stage(UpstreamService(*worker.client, metrics_, forward_trailers_)));
  }

 private:
  const RouteMetrics& metrics_;  // registry children: never freed
  bool forward_trailers_;
};

}  // namespace

std::unique_ptr<runtime::RouteLayer> make_upstream_layer(const runtime::LayerInputs& inputs) {
  return std::make_unique<UpstreamLayer>(inputs.metrics, inputs.route.forward_trailers);
}

}  // namespace levee::layers
