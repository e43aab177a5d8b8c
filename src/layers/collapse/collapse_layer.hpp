#pragma once
// The collapse layer's factory (runtime/layer_order.hpp): on a collapse route (unless its
// preset is "disabled"), one SlotTable shared by every worker, its rules, its flush policy and
// its counters, with levee_collapse_requests_total, levee_active_batch_slots and
// levee_collapse_waiters. Declines other routes. A reload keeps the table, policy and
// counters while the route's [routes.collapse] is unchanged; otherwise requests already in a
// slot finish in the old table and new ones start in the new one.

#include <memory>

#include "runtime/layer_factory.hpp"

namespace levee::layers::collapse {

[[nodiscard]] std::unique_ptr<runtime::RouteLayer> make_collapse_layer(
    const runtime::LayerInputs& inputs);

}  // namespace levee::layers::collapse
