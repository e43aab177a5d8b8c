#pragma once
// The upstream limit's factory (runtime/layer_order.hpp): every route has it, innermost but
// the upstream itself, taking one of its upstream's max_inflight permits (proxy/guards.hpp,
// shared by every route of that upstream) for each real call.

#include <memory>

#include "runtime/layer_factory.hpp"

namespace levee::layers::limit {

[[nodiscard]] std::unique_ptr<runtime::RouteLayer> make_upstream_limit_layer(
    const runtime::LayerInputs& inputs);

}  // namespace levee::layers::limit
