#include "layers/grpc/grpc_layer.hpp"

#include <utility>

#include "admin/metric_registry.hpp"
#include "core/stage.hpp"
#include "layers/grpc/grpc_service.hpp"

namespace levee::layers::grpc {

namespace {

class GrpcLayer final : public runtime::RouteLayer {
 public:
  explicit GrpcLayer(GrpcRules rules) : rules_(rules) {}

  [[nodiscard]] core::Next wrap(core::Next inner, const runtime::WorkerLinks&) const override {
    return core::Next(core::make_stage(GrpcService<core::Next>(std::move(inner), rules_)));
  }

 private:
  GrpcRules rules_;
};

}  // namespace

std::unique_ptr<runtime::RouteLayer> make_grpc_layer(const runtime::LayerInputs& inputs) {
  if (!inputs.route.grpc) return nullptr;
  auto& registry = inputs.services.registry;
  auto& deadlines = registry.ensure_counter_family(
      "levee_grpc_deadline_exceeded_total",
      "gRPC calls answered DEADLINE_EXCEEDED by levee because their grpc-timeout passed first.",
      {"route"});
  auto& mapped = registry.ensure_counter_family(
      "levee_grpc_status_mapped_total",
      "Answers without grpc-status (levee's refusals, upstream HTTP errors) levee turned into "
      "a gRPC status for a gRPC client.",
      {"route"});
  return std::make_unique<GrpcLayer>(GrpcRules{
      GrpcMetrics{&deadlines.with({inputs.route.name}), &mapped.with({inputs.route.name})},
      inputs.route.mode == config::RouteMode::collapse});
}

}  // namespace levee::layers::grpc
