#pragma once
// Every metric family of the proxy, registered once at start-up, and the per-route and
// server views the layers and sessions update. Lives as long as the process's ProxyServer.

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "admin/metric_registry.hpp"
#include "layers/batch/batch_metrics.hpp"
#include "layers/collapse/collapse_service.hpp"
#include "layers/metrics/phase_metrics.hpp"
#include "layers/metrics/route_metrics.hpp"
#include "server/server_metrics.hpp"

namespace levee::proxy {

class ProxyMetrics {
 public:
  explicit ProxyMetrics(admin::Registry& registry);

  // The children for one route, created on the first call for its name; a reloaded route of
  // the same name gets the same ones back, so its series keep counting.
  [[nodiscard]] const layers::RouteMetrics& add_route(std::string_view route);
  // The latency accounting's children for one route in one mode (issue 19), created on first
  // use: a route reloaded in another mode gets its own series.
  [[nodiscard]] const layers::PhaseMetrics& add_route_phases(std::string_view route,
                                                             std::string_view mode);
  // The collapse families' children for one collapse route (families created on first use).
  [[nodiscard]] layers::collapse::CollapseMetrics add_collapse_route(std::string_view route);
  // The batch families' children for one batch route (the flush families are shared).
  [[nodiscard]] layers::batch::BatchMetricChildren add_batch_route(std::string_view route);
  [[nodiscard]] const server::ServerMetrics& server() const noexcept { return server_; }
  [[nodiscard]] admin::Registry& registry() noexcept { return registry_; }

 private:
  void ensure_flush_families();

  admin::Registry& registry_;
  admin::CounterFamily& requests_;
  admin::HistogramFamily& request_duration_;
  admin::CounterFamily& upstream_requests_;
  admin::HistogramFamily& upstream_duration_;
  admin::CounterFamily& shed_;
  admin::HistogramFamily& phase_;
  admin::HistogramFamily& added_latency_;
  server::ServerMetrics server_;
  // By route name; never removed (the registry keeps every child too). Reloads run on one thread.
  std::map<std::string, std::unique_ptr<layers::RouteMetrics>, std::less<>> routes_;
  // By route name and mode, "route\nmode"; never removed either.
  std::map<std::string, std::unique_ptr<layers::PhaseMetrics>, std::less<>> phases_;
  admin::CounterFamily* collapse_requests_ = nullptr;
  admin::CounterFamily* flushes_ = nullptr;
  admin::HistogramFamily* size_at_flush_ = nullptr;
  admin::HistogramFamily* age_at_flush_ = nullptr;
  admin::CounterFamily* batch_calls_ = nullptr;
  admin::CounterFamily* batch_items_ = nullptr;
};

}  // namespace levee::proxy
