#include "runtime/layer_order.hpp"

#include <array>

#include "layers/batch/batch_layer.hpp"
#include "layers/breaker/breaker_layer.hpp"
#include "layers/cache/cache_layer.hpp"
#include "layers/collapse/collapse_layer.hpp"
#include "layers/grpc/grpc_layer.hpp"
#include "layers/limit/admission_layer.hpp"
#include "layers/limit/upstream_limit_layer.hpp"
#include "layers/metrics/metrics_layer.hpp"
#include "layers/upstream/upstream_layer.hpp"

namespace levee::runtime {

namespace {

constexpr std::array k_layer_order{
    LayerEntry{"grpc", layers::grpc::make_grpc_layer},
    LayerEntry{"metrics", layers::make_metrics_layer},
    LayerEntry{"admission", layers::limit::make_admission_layer},
    LayerEntry{"cache", layers::cache::make_cache_layer},
    LayerEntry{"collapse", layers::collapse::make_collapse_layer},
    LayerEntry{"batch", layers::batch::make_batch_layer},
    LayerEntry{"breaker", layers::breaker::make_breaker_layer},
    LayerEntry{"upstream_limit", layers::limit::make_upstream_limit_layer},
    LayerEntry{"upstream", layers::make_upstream_layer},
};

}  // namespace

std::span<const LayerEntry> layer_order() noexcept { return k_layer_order; }

}  // namespace levee::runtime
