#pragma once
// The cache layer's factory (runtime/layer_order.hpp): on a route with [routes.cache], its
// rules and counters (levee_cache_*_total) over the process's memory tier. Declines routes
// without [routes.cache]. A reload keeps the route's counters and its entries (the store) while
// its [routes.cache] and [cache] max_bytes are unchanged. On a batch route it caches nothing
// its POSTs reach (only GET and HEAD are looked up); a successful POST still invalidates.

#include <memory>

#include "layers/cache/cache_service.hpp"
#include "runtime/layer_factory.hpp"

namespace levee::layers::cache {

[[nodiscard]] std::unique_ptr<runtime::RouteLayer> make_cache_layer(
    const runtime::LayerInputs& inputs);

// What a route's cache layer shares between its workers; for tests of the carry-over.
[[nodiscard]] const CacheShared* cache_shared_of(const runtime::RouteLayer* layer) noexcept;

}  // namespace levee::layers::cache
