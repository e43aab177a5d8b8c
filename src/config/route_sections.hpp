#pragma once
// The [[routes]] sub-tables and route keys that belong to a mode: [routes.collapse],
// [routes.batch] and the route's admission keys, plus the methods list they share with the
// route itself. Internal to src/config; start-up code only.

#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/table_reader.hpp"

namespace levee::config::detail {

// A list of HTTP methods at `methods`, each checked; empty when absent or wrong.
[[nodiscard]] std::vector<std::string> read_methods(TableReader& reader);
// [routes.collapse]: only with mode = "collapse"; absent keys keep their defaults.
// `redis_configured`: [cache] names a Redis, which fleet = true needs.
void read_collapse(TableReader& route_reader, const std::string& route_path, RouteConfig& route,
                   Diagnostics& diagnostics, bool redis_configured);
// [routes.batch]: required with mode = "batch".
void read_batch(TableReader& route_reader, const std::string& route_path, RouteConfig& route,
                Diagnostics& diagnostics);
// max_pending and admission_timeout (DESIGN.md "Backpressure"), for every mode.
void read_admission(TableReader& reader, RouteConfig& route);
// forward_trailers: pass routes only (a collapsed or batched call has no one sender whose
// trailers it could carry).
void read_forward_trailers(TableReader& reader, RouteConfig& route);
// grpc: pass and collapse routes. Unless [routes.collapse] names its methods, a gRPC route
// collapses POST (every gRPC call), keyed on the request message.
void read_grpc(TableReader& reader, RouteConfig& route, bool collapse_methods_set);
// The schema of a route's sub-table ("collapse", "batch"), for environment overrides of
// single keys in it; empty for any other name.
[[nodiscard]] Schema route_subtable_schema(std::string_view name) noexcept;

}  // namespace levee::config::detail
