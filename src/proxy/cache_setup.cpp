#include "proxy/cache_setup.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "admin/metrics.hpp"

namespace levee::proxy {

namespace cache = layers::cache;

std::vector<cache::CacheShared> make_cache_shared(const config::Config& config,
                                                  admin::Registry& registry) {
  std::vector<cache::CacheShared> routes(config.routes.size());
  const bool any = std::any_of(config.routes.begin(), config.routes.end(),
                               [](const config::RouteConfig& r) { return r.cache.enabled; });
  if (!any) return routes;

  auto store = std::make_shared<cache::MemoryStore>(config.cache.max_bytes);
  registry.gauge_callback("levee_cache_bytes", "Bytes held by the memory tier of the cache now.",
                          {}, [store] { return static_cast<double>(store->stats().bytes); });
  registry.gauge_callback("levee_cache_entries", "Entries in the memory tier of the cache now.", {},
                          [store] { return static_cast<double>(store->stats().entries); });
  registry.gauge_callback(
      "levee_cache_evicted_entries",
      "Entries the memory tier pushed out for its byte budget (LRU), since start.", {},
      [store] { return static_cast<double>(store->stats().evictions); });
  auto& lookups = registry.counter_family(
      "levee_cache_lookups_total",
      "Cacheable requests by what the cache did: hit, stale (served while one refresh runs), "
      "miss, bypass (the request asked for no cached answer).",
      {"route", "result"});
  auto& shared_hits = registry.counter_family(
      "levee_cache_shared_tier_hits_total",
      "Hits the memory tier missed and the shared (Redis) tier had.", {"route"});
  auto& stored = registry.counter_family("levee_cache_stores_total",
                                         "Upstream answers stored in the cache.", {"route"});
  auto& not_stored = registry.counter_family(
      "levee_cache_not_stored_total",
      "Answers with a cacheable status that were not stored (no-store, private, Set-Cookie, "
      "Vary: *, too large, ...).",
      {"route"});
  auto& invalidated = registry.counter_family(
      "levee_cache_invalidated_total",
      "Entries dropped because a request changed their path (invalidate_on_mutation).", {"route"});

  constexpr std::array<std::string_view, cache::k_cache_results> results{"hit", "stale", "miss",
                                                                         "bypass"};
  for (std::size_t i = 0; i < config.routes.size(); ++i) {
    const config::RouteConfig& route = config.routes[i];
    if (!route.cache.enabled) continue;
    auto counters = std::make_shared<cache::CacheCounters>();
    for (std::size_t r = 0; r < results.size(); ++r) {
      counters->lookups[r] = &lookups.with({route.name, results[r]});
    }
    counters->shared_tier_hits = &shared_hits.with({route.name});
    counters->stored = &stored.with({route.name});
    counters->not_stored = &not_stored.with({route.name});
    counters->invalidated = &invalidated.with({route.name});
    auto rules = std::make_shared<cache::CacheRules>();
    rules->storage.ttl = route.cache.ttl;
    rules->storage.stale_while_revalidate = route.cache.stale_while_revalidate;
    rules->storage.honour_cache_control = route.cache.honour_cache_control;
    rules->storage.max_entry_bytes = route.cache.max_entry_bytes;
    rules->invalidate_on_mutation = route.cache.invalidate_on_mutation;
    routes[i].store = store;
    routes[i].rules = std::move(rules);
    routes[i].counters = std::move(counters);
  }
  return routes;
}

RedisTierSetup make_redis_tier_setup(const config::Config& config, admin::Registry& registry) {
  RedisTierSetup setup;
  const bool any = std::any_of(config.routes.begin(), config.routes.end(),
                               [](const config::RouteConfig& r) { return r.cache.enabled; });
  if (!any || !config.cache.redis) return setup;
  setup.enabled = true;
  setup.settings.host = config.cache.redis->host;
  setup.settings.port = config.cache.redis->port;
  setup.settings.command_timeout = config.cache.redis_timeout;
  setup.settings.connect_timeout = config.cache.redis_connect_timeout;
  setup.settings.key_prefix = config.cache.redis_key_prefix;
  auto& errors = registry.counter_family(
      "levee_cache_redis_errors_total",
      "Redis commands of the shared cache tier that failed, by kind; each was a miss or a "
      "skipped store, never a failed request.",
      {"kind"});
  for (std::size_t k = 0; k < setup.errors.size(); ++k) {
    setup.errors[k] = &errors.with({redis::to_string(static_cast<redis::RedisErrorKind>(k))});
  }
  return setup;
}

}  // namespace levee::proxy
