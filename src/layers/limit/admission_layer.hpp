#pragma once
// The admission layer's factory (runtime/layer_order.hpp): a route's max_pending permit pool,
// shared by its workers, with levee_route_pending and levee_admission_waiting. Declines batch
// routes, whose batcher admits. A reload keeps the pool, permits held and all, while the
// route's max_pending is unchanged.

#include <memory>

#include "runtime/layer_factory.hpp"

namespace levee::layers::limit {

[[nodiscard]] std::unique_ptr<runtime::RouteLayer> make_admission_layer(
    const runtime::LayerInputs& inputs);

}  // namespace levee::layers::limit
