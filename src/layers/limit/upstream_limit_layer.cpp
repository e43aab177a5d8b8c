#include "layers/limit/upstream_limit_layer.hpp"

#include <utility>

#include "core/permit_pool.hpp"
#include "layers/limit/upstream_limit_service.hpp"
#include "proxy/guards.hpp"

namespace levee::layers::limit {

namespace {

class UpstreamLimitLayer final : public runtime::RouteLayer {
 public:
  UpstreamLimitLayer(std::shared_ptr<core::PermitPool> pool,
                     std::shared_ptr<const LimitRules> rules)
      : pool_(std::move(pool)), rules_(std::move(rules)) {}

  [[nodiscard]] core::Next wrap(core::Next inner, const runtime::WorkerLinks&) const override {
    return core::Next(
        core::make_stage(UpstreamLimitService<core::Next>(std::move(inner), pool_, rules_)));
  }

 private:
  std::shared_ptr<core::PermitPool> pool_;
  std::shared_ptr<const LimitRules> rules_;
};

}  // namespace

std::unique_ptr<runtime::RouteLayer> make_upstream_limit_layer(const runtime::LayerInputs& inputs) {
  return std::make_unique<UpstreamLimitLayer>(
      inputs.guards.inflight, proxy::make_limit_rules(inputs.route, inputs.metrics));
}

}  // namespace levee::layers::limit
