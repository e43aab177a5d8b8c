#pragma once
// The per-route metrics that the route's layers update. Built once per route at start-up
// from the registry (proxy/proxy_metrics.cpp) and shared by every worker's copy of the route;
// the metric objects are thread-safe and shard per worker.

#include <array>
#include <cstddef>

#include "upstream/upstream_error.hpp"

namespace levee::admin {
class Counter;
class Histogram;
}  // namespace levee::admin

namespace levee::layers {

inline constexpr std::size_t k_upstream_error_kinds = 7;

struct RouteMetrics {
  std::array<admin::Counter*, 5> requests_by_class{};  // 1xx .. 5xx
  admin::Histogram* request_duration = nullptr;        // seconds, whole pipeline
  admin::Counter* upstream_responses = nullptr;        // upstream answered (any status)
  std::array<admin::Counter*, k_upstream_error_kinds> upstream_errors{};  // by UpstreamErrorKind
  admin::Histogram* upstream_duration = nullptr;  // seconds, one upstream call
  // levee_shed_total by layers::limit::ShedReason: max_pending, upstream_inflight, breaker_open.
  std::array<admin::Counter*, 3> shed{};
};

}  // namespace levee::layers
