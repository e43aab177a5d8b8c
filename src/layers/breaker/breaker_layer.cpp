#include "layers/breaker/breaker_layer.hpp"

#include <string>
#include <utility>

#include "layers/breaker/breaker_service.hpp"
#include "layers/limit/shed.hpp"
#include "layers/metrics/route_metrics.hpp"
#include "proxy/guards.hpp"

namespace levee::layers::breaker {

namespace {

class BreakerLayer final : public runtime::RouteLayer {
 public:
  BreakerLayer(std::shared_ptr<CircuitBreaker> breaker, std::string upstream,
               BreakerMetrics metrics)
      : breaker_(std::move(breaker)), upstream_(std::move(upstream)), metrics_(metrics) {}

  [[nodiscard]] core::Next wrap(core::Next inner, const runtime::WorkerLinks&) const override {
    return core::Next(core::make_stage(
        BreakerService<core::Next>(std::move(inner), breaker_, upstream_, metrics_)));
  }

 private:
  std::shared_ptr<CircuitBreaker> breaker_;
  std::string upstream_;
  BreakerMetrics metrics_;
};

}  // namespace

std::unique_ptr<runtime::RouteLayer> make_breaker_layer(const runtime::LayerInputs& inputs) {
  if (!inputs.guards.breaker) return nullptr;
  const auto shed = static_cast<std::size_t>(limit::ShedReason::breaker_open);
  return std::make_unique<BreakerLayer>(inputs.guards.breaker, inputs.route.upstream,
                                        BreakerMetrics{inputs.metrics.shed[shed], nullptr});
}

}  // namespace levee::layers::breaker
