#include "proxy/cache_setup.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "admin/metrics.hpp"

namespace levee::proxy {

namespace cache = layers::cache;

std::shared_ptr<cache::MemoryStore> make_cache_store(
    const config::Config& config, admin::Registry& registry,
    const std::shared_ptr<cache::MemoryStore>& running) {
  const bool any = std::any_of(config.routes.begin(), config.routes.end(),
                               [](const config::RouteConfig& r) { return r.cache.enabled; });
  if (!any) return nullptr;
  std::shared_ptr<cache::MemoryStore> store =
      running && running->max_bytes() == config.cache.max_bytes
          ? running
          : std::make_shared<cache::MemoryStore>(config.cache.max_bytes);
  // Weak: a store a reload dropped is freed with its last request, not kept by its gauges.
  const auto read = [weak = std::weak_ptr(store)](auto field) {
    return [weak, field] {
      auto held = weak.lock();
      return held ? static_cast<double>(held->stats().*field) : 0.0;
    };
  };
  using Stats = cache::MemoryStore::Stats;
  registry.replace_gauge_callback("levee_cache_bytes",
                                  "Bytes held by the memory tier of the cache now.", {},
                                  read(&Stats::bytes));
  registry.replace_gauge_callback("levee_cache_entries",
                                  "Entries in the memory tier of the cache now.", {},
                                  read(&Stats::entries));
  // A counter, not a gauge: it only grows (a reload that resizes the tier starts a new store,
  // which Prometheus reads as a counter reset).
  registry.replace_counter_callback(
      "levee_cache_evictions_total",
      "Entries the memory tier pushed out for its byte budget (LRU), since start.", {},
      read(&Stats::evictions));
  return store;
}

redis::RedisSettings make_redis_settings(const config::CacheConfig& cache) {
  redis::RedisSettings settings;
  if (cache.redis) {
    settings.host = cache.redis->host;
    settings.port = cache.redis->port;
  }
  for (const config::Endpoint& sentinel : cache.redis_sentinels) {
    settings.sentinels.push_back(redis::RedisAddress{sentinel.host, sentinel.port});
  }
  settings.master_name = cache.redis_master_name;
  settings.command_timeout = cache.redis_timeout;
  settings.connect_timeout = cache.redis_connect_timeout;
  settings.key_prefix = cache.redis_key_prefix;
  return settings;
}

bool same_redis_connection(const redis::RedisSettings& a, const redis::RedisSettings& b) noexcept {
  return a.host == b.host && a.port == b.port && a.sentinels == b.sentinels &&
         a.master_name == b.master_name && a.command_timeout == b.command_timeout &&
         a.connect_timeout == b.connect_timeout && a.key_prefix == b.key_prefix;
}

bool RedisTierSetup::same_connection(const RedisTierSetup& other) const noexcept {
  return enabled == other.enabled && same_redis_connection(settings, other.settings);
}

RedisTierSetup make_redis_tier_setup(const config::Config& config, admin::Registry& registry) {
  RedisTierSetup setup;
  const bool any = std::any_of(config.routes.begin(), config.routes.end(),
                               [](const config::RouteConfig& r) { return r.cache.enabled; });
  if (!any || !config.cache.has_redis()) return setup;
  setup.enabled = true;
  setup.settings = make_redis_settings(config.cache);
  auto& errors = registry.ensure_counter_family(
      "levee_cache_redis_errors_total",
      "Redis commands of the shared cache tier that failed, by kind; each was a miss or a "
      "skipped store, never a failed request.",
      {"kind"});
  for (std::size_t k = 0; k < setup.errors.size(); ++k) {
    setup.errors[k] = &errors.with({redis::to_string(static_cast<redis::RedisErrorKind>(k))});
  }
  return setup;
}

FleetSetup make_fleet_setup(const config::Config& config) {
  FleetSetup setup;
  setup.enabled =
      config.cache.has_redis() &&
      std::any_of(config.routes.begin(), config.routes.end(), [](const config::RouteConfig& r) {
        return r.mode == config::RouteMode::collapse && r.collapse.fleet;
      });
  if (setup.enabled) setup.settings = make_redis_settings(config.cache);
  return setup;
}

}  // namespace levee::proxy
