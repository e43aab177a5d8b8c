#pragma once
// The one place where a route's layer order is decided (STYLE.md, DESIGN.md "Request flow"),
// outermost first:
//   grpc ► metrics ► admission ► cache ► collapse | batch ► breaker ► upstream limit ► upstream
// gRPC (routes with grpc = true) is outside the metrics, so that the metrics count levee's
// refusals as what they are (a 503 shed) while the gRPC client gets them as a grpc-status.
// Metrics wraps everything, so every answer is counted once, including those a later layer
// produces itself (503 shed, cache hit). Admission reserves a permit before anything parks.
// The cache answers hits before a slot is looked for. Collapse and batch sit above the breaker
// and the upstream limit, so that a slot or a batch is one call to them and every member
// shares its answer (an open breaker's 503 included); the limit sits innermost, counting real
// calls only. A factory that declines leaves its place out of the route's chain.
//
// Adding a layer: its folder (the service and its `<name>_layer` factory) and one line of
// k_layer_order (layer_order.cpp).

#include <span>

#include "runtime/layer_factory.hpp"

namespace levee::runtime {

[[nodiscard]] std::span<const LayerEntry> layer_order() noexcept;

}  // namespace levee::runtime
