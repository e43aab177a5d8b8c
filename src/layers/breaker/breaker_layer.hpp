#pragma once
// The breaker layer's factory (runtime/layer_order.hpp): asks the route's upstream's
// CircuitBreaker (proxy/guards.hpp, one per upstream, kept across reloads while the upstream's
// address and breaker settings are unchanged). Declines when the upstream's breaker is
// disabled.

#include <memory>

#include "runtime/layer_factory.hpp"

namespace levee::layers::breaker {

[[nodiscard]] std::unique_ptr<runtime::RouteLayer> make_breaker_layer(
    const runtime::LayerInputs& inputs);

}  // namespace levee::layers::breaker
