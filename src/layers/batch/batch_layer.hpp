#pragma once
// The batch layer's factory (runtime/layer_order.hpp): on a batch route, one Batcher shared by
// every worker (it also admits: max_pending, admission_timeout), its rules, flush policy and
// counters, with levee_batch_* and levee_active_batch_slots. Declines other routes. A reload
// keeps the batcher while the route's [routes.batch], max_pending and admission_timeout are
// unchanged; otherwise items already parked go with the old batcher and new ones join the new.

#include <memory>

#include "runtime/layer_factory.hpp"

namespace levee::layers::batch {

[[nodiscard]] std::unique_ptr<runtime::RouteLayer> make_batch_layer(
    const runtime::LayerInputs& inputs);

}  // namespace levee::layers::batch
