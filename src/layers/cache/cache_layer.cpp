#include "layers/cache/cache_layer.hpp"

#include <fmt/format.h>

#include <array>
#include <iterator>
#include <string_view>
#include <utility>

#include "admin/metric_registry.hpp"
#include "admin/metrics.hpp"

namespace levee::layers::cache {

namespace {

class CacheLayer final : public runtime::RouteLayer {
 public:
  CacheLayer(config::RouteCacheConfig config, bool grpc, CacheShared shared)
      : config_(std::move(config)), grpc_(grpc), shared_(std::move(shared)) {}

  [[nodiscard]] core::Next wrap(core::Next inner,
                                const runtime::WorkerLinks& worker) const override {
    auto stage =
        core::make_stage(CacheService<core::Next>(std::move(inner), shared_, worker.shared_tier));
    // A background refresh holds the stage, which a reload may otherwise free meanwhile.
    stage->service().hold_while_refreshing(stage);
    return core::Next(std::move(stage));
  }

  void append_stats(std::string& out) const override {
    const CacheCounters& c = *shared_.counters;
    const auto lookups = [&](CacheResult result) {
      return c.lookups[static_cast<std::size_t>(result)]->value();
    };
    fmt::format_to(std::back_inserter(out),
                   ",\"cache\":{{\"hit\":{},\"stale\":{},\"miss\":{},\"bypass\":{},"
                   "\"stored\":{},\"not_stored\":{},\"invalidated\":{}}}",
                   lookups(CacheResult::hit), lookups(CacheResult::stale),
                   lookups(CacheResult::miss), lookups(CacheResult::bypass), c.stored->value(),
                   c.not_stored->value(), c.invalidated->value());
  }

  [[nodiscard]] const config::RouteCacheConfig& config() const noexcept { return config_; }
  [[nodiscard]] bool grpc() const noexcept { return grpc_; }
  [[nodiscard]] const CacheShared& shared() const noexcept { return shared_; }

 private:
  config::RouteCacheConfig config_;
  bool grpc_;  // the route's grpc: whether gRPC calls are cached
  CacheShared shared_;
};

std::shared_ptr<const CacheCounters> make_counters(admin::Registry& registry,
                                                   const std::string& route) {
  auto& lookups = registry.ensure_counter_family(
      "levee_cache_lookups_total",
      "Cacheable requests by what the cache did: hit, stale (served while one refresh runs), "
      "miss, bypass (the request asked for no cached answer).",
      {"route", "result"});
  auto& shared_hits = registry.ensure_counter_family(
      "levee_cache_shared_tier_hits_total",
      "Hits the memory tier missed and the shared (Redis) tier had.", {"route"});
  auto& stored = registry.ensure_counter_family("levee_cache_stores_total",
                                                "Upstream answers stored in the cache.", {"route"});
  auto& not_stored = registry.ensure_counter_family(
      "levee_cache_not_stored_total",
      "Answers with a cacheable status that were not stored (no-store, private, Set-Cookie, "
      "Vary: *, too large, ...).",
      {"route"});
  auto& invalidated = registry.ensure_counter_family(
      "levee_cache_invalidated_total",
      "Entries dropped because a request changed their path (invalidate_on_mutation).", {"route"});
  constexpr std::array<std::string_view, k_cache_results> results{"hit", "stale", "miss", "bypass"};
  auto counters = std::make_shared<CacheCounters>();
  for (std::size_t r = 0; r < results.size(); ++r) {
    counters->lookups[r] = &lookups.with({route, results[r]});
  }
  counters->shared_tier_hits = &shared_hits.with({route});
  counters->stored = &stored.with({route});
  counters->not_stored = &not_stored.with({route});
  counters->invalidated = &invalidated.with({route});
  return counters;
}

}  // namespace

const CacheShared* cache_shared_of(const runtime::RouteLayer* layer) noexcept {
  const auto* cache = dynamic_cast<const CacheLayer*>(layer);
  return cache != nullptr ? &cache->shared() : nullptr;
}

std::unique_ptr<runtime::RouteLayer> make_cache_layer(const runtime::LayerInputs& inputs) {
  const config::RouteConfig& route = inputs.route;
  if (!route.cache.enabled || !inputs.cache_store) return nullptr;
  if (const auto* before = dynamic_cast<const CacheLayer*>(inputs.previous);
      before != nullptr && before->config() == route.cache && before->grpc() == route.grpc &&
      before->shared().store == inputs.cache_store) {
    return std::make_unique<CacheLayer>(route.cache, route.grpc, before->shared());
  }
  auto rules = std::make_shared<CacheRules>();
  rules->storage.ttl = route.cache.ttl;
  rules->storage.stale_while_revalidate = route.cache.stale_while_revalidate;
  rules->storage.honour_cache_control = route.cache.honour_cache_control;
  rules->storage.max_entry_bytes = route.cache.max_entry_bytes;
  rules->invalidate_on_mutation = route.cache.invalidate_on_mutation;
  rules->grpc = route.grpc;
  CacheShared shared;
  shared.store = inputs.cache_store;
  shared.rules = std::move(rules);
  shared.counters = make_counters(inputs.services.registry, route.name);
  return std::make_unique<CacheLayer>(route.cache, route.grpc, std::move(shared));
}

}  // namespace levee::layers::cache
