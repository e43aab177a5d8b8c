#pragma once
// The tables of the resilience layers (DESIGN.md "Backpressure", "Cache and circuit
// breaker"): [upstreams.NAME.breaker], [cache] and [routes.cache]. Internal to src/config;
// start-up code only.

#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/table_reader.hpp"

namespace levee::config::detail {

// [upstreams.NAME.breaker]; absent keys keep their defaults.
void read_breaker(TableReader& upstream_reader, const std::string& upstream_path,
                  UpstreamConfig& upstream, Diagnostics& diagnostics);
// [cache]: the memory budget and the optional Redis tier.
void read_cache(const toml::table& table, CacheConfig& cache, Diagnostics& diagnostics);
// [routes.cache]: present = the route caches; not with mode = "batch" (items are POSTs).
void read_route_cache(TableReader& route_reader, const std::string& route_path, RouteConfig& route,
                      Diagnostics& diagnostics);

[[nodiscard]] Schema breaker_schema() noexcept;
[[nodiscard]] Schema cache_schema() noexcept;
[[nodiscard]] Schema route_cache_schema() noexcept;

}  // namespace levee::config::detail
