#pragma once
// The gRPC layer's factory (runtime/layer_order.hpp): outermost on a route with grpc = true,
// absent elsewhere.

#include <memory>

#include "runtime/layer_factory.hpp"
#include "runtime/route_layer.hpp"

namespace levee::layers::grpc {

[[nodiscard]] std::unique_ptr<runtime::RouteLayer> make_grpc_layer(
    const runtime::LayerInputs& inputs);

}  // namespace levee::layers::grpc
