#pragma once
// The metrics layer's factory (runtime/layer_order.hpp): every route has it, outermost. Its
// /stats members are the route's answers by class, upstream calls and errors, latency
// quantiles and shed counts, read from the route's Prometheus children.

#include <memory>

#include "runtime/layer_factory.hpp"

namespace levee::layers {

[[nodiscard]] std::unique_ptr<runtime::RouteLayer> make_metrics_layer(
    const runtime::LayerInputs& inputs);

}  // namespace levee::layers
