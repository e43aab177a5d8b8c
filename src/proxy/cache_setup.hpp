#pragma once
// The response cache's shared parts (DESIGN.md "Cache and circuit breaker"): one memory tier
// for the process, sized by [cache] max_bytes, and per caching route its rules and counters.
// Built once at start-up by ProxyServer, which outlives the workers that use them.

#include <memory>
#include <vector>

#include "admin/metric_registry.hpp"
#include "config/config.hpp"
#include "layers/cache/cache_service.hpp"
#include "layers/cache/redis_tier.hpp"

namespace levee::proxy {

// One entry per route, in config order; routes without [routes.cache] get an empty entry.
// Registers the cache's metric families when any route caches.
[[nodiscard]] std::vector<layers::cache::CacheShared> make_cache_shared(
    const config::Config& config, admin::Registry& registry);

// What each worker needs to open its own connection to the shared tier.
struct RedisTierSetup {
  bool enabled = false;  // [cache] redis is set and some route caches
  redis::RedisSettings settings;
  layers::cache::RedisErrorCounters errors{};
};

[[nodiscard]] RedisTierSetup make_redis_tier_setup(const config::Config& config,
                                                   admin::Registry& registry);

}  // namespace levee::proxy
