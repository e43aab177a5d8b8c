#pragma once
// The upstream layer's factory (runtime/layer_order.hpp): every route ends in it. Each
// worker's stage calls that worker's UpstreamClient for the route's upstream (whose connection
// pool a reload keeps while the upstream's settings are unchanged; proxy/worker.hpp).

#include <memory>

#include "runtime/layer_factory.hpp"

namespace levee::layers {

[[nodiscard]] std::unique_ptr<runtime::RouteLayer> make_upstream_layer(
    const runtime::LayerInputs& inputs);

}  // namespace levee::layers
