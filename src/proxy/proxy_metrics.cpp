#include "proxy/proxy_metrics.hpp"

#include <array>
#include <string>

#include "upstream/upstream_error.hpp"

namespace levee::proxy {

namespace {
constexpr std::array<std::string_view, 5> k_classes = {"1xx", "2xx", "3xx", "4xx", "5xx"};
}

ProxyMetrics::ProxyMetrics(admin::Registry& registry)
    : registry_(registry),
      requests_(registry.counter_family("levee_requests_total",
                                        "Requests answered by a route, by status class.",
                                        {"route", "class"})),
      request_duration_(registry.histogram_family(
          "levee_request_duration_seconds",
          "Time from a request being read to its response being ready, per route.", {"route"})),
      upstream_requests_(registry.counter_family(
          "levee_upstream_requests_total",
          "Calls to the upstream, by outcome (response or the failure's kind).",
          {"route", "outcome"})),
      upstream_duration_(registry.histogram_family("levee_upstream_duration_seconds",
                                                   "Duration of one upstream call, per route.",
                                                   {"route"})) {
  server_.open_connections =
      &registry.gauge("levee_open_connections", "Client connections open now.");
  server_.connections_accepted =
      &registry.counter("levee_connections_accepted_total", "Client connections accepted.");
  server_.connections_refused =
      &registry.counter("levee_connections_refused_total",
                        "Client connections refused with 503 because max_connections were open.");
  auto& rejected = registry.counter_family(
      "levee_rejected_requests_total",
      "Requests the server answered itself before any route (limits, bad input, no route).",
      {"reason"});
  for (std::size_t i = 0; i < server_.rejected.size(); ++i) {
    server_.rejected[i] = &rejected.with({server::to_string(static_cast<server::RejectReason>(i))});
  }
}

const layers::RouteMetrics& ProxyMetrics::add_route(std::string_view route) {
  auto metrics = std::make_unique<layers::RouteMetrics>();
  for (std::size_t i = 0; i < k_classes.size(); ++i) {
    metrics->requests_by_class[i] = &requests_.with({route, k_classes[i]});
  }
  metrics->request_duration = &request_duration_.with({route});
  metrics->upstream_responses = &upstream_requests_.with({route, "response"});
  for (std::size_t i = 0; i < layers::k_upstream_error_kinds; ++i) {
    auto kind = upstream::to_string(static_cast<upstream::UpstreamErrorKind>(i));
    metrics->upstream_errors[i] = &upstream_requests_.with({route, kind});
  }
  metrics->upstream_duration = &upstream_duration_.with({route});
  routes_.push_back(std::move(metrics));
  return *routes_.back();
}

}  // namespace levee::proxy
