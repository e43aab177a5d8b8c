#pragma once
// The response cache's process-wide parts (DESIGN.md "Cache and circuit breaker"): one memory
// tier for the process, sized by [cache] max_bytes, and what each worker needs to open its
// connection to the shared tier. Each caching route's rules and counters are its cache
// layer's (layers/cache/cache_layer.hpp). Built for each configuration on the controlling
// thread.

#include <memory>
#include <vector>

#include "admin/metric_registry.hpp"
#include "config/config.hpp"
#include "layers/cache/cache_service.hpp"
#include "layers/cache/redis_tier.hpp"

namespace levee::proxy {

// The memory tier, or null when no route caches; registers its gauges. `running` (a reload:
// the running store, else null) is kept, entries and all, when its budget is unchanged.
[[nodiscard]] std::shared_ptr<layers::cache::MemoryStore> make_cache_store(
    const config::Config& config, admin::Registry& registry,
    const std::shared_ptr<layers::cache::MemoryStore>& running = nullptr);

// The connection settings [cache] gives every Redis client of levee (the cache's shared tier,
// fleet collapsing).
[[nodiscard]] redis::RedisSettings make_redis_settings(const config::CacheConfig& cache);
// Two clients made with these settings would talk to the same Redis the same way.
[[nodiscard]] bool same_redis_connection(const redis::RedisSettings& a,
                                         const redis::RedisSettings& b) noexcept;

// What each worker needs to open its own connection to the shared tier.
struct RedisTierSetup {
  bool enabled = false;  // [cache] redis is set and some route caches
  redis::RedisSettings settings;
  layers::cache::RedisErrorCounters errors{};

  // The same connection settings: a worker's tier for one serves the other.
  [[nodiscard]] bool same_connection(const RedisTierSetup& other) const noexcept;
};

[[nodiscard]] RedisTierSetup make_redis_tier_setup(const config::Config& config,
                                                   admin::Registry& registry);

// What each worker needs to open its connections for fleet collapsing (docs/fleet.md).
struct FleetSetup {
  bool enabled = false;  // some route has fleet = true (which needs [cache] redis)
  redis::RedisSettings settings;
  [[nodiscard]] bool same_connection(const FleetSetup& other) const noexcept {
    return enabled == other.enabled && same_redis_connection(settings, other.settings);
  }
};

[[nodiscard]] FleetSetup make_fleet_setup(const config::Config& config);

}  // namespace levee::proxy
