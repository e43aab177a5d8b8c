#pragma once
// Flush telemetry's /metrics families: levee_telemetry_events_total{result} and
// levee_telemetry_sink_info{sink}, read from FlushTelemetry's own counters at scrape time so
// that record() on the request path updates nothing but its atomics.

#include <string_view>

#include "admin/metric_registry.hpp"

namespace levee::telemetry {
class FlushTelemetry;
}  // namespace levee::telemetry

namespace levee::proxy {

// `telemetry` must outlive `registry`'s scrapes (ProxyServer owns both). `sink` is the
// configured sink's name (none, jsonl, kafka).
void register_telemetry_metrics(admin::Registry& registry,
                                const telemetry::FlushTelemetry& telemetry, std::string_view sink);

}  // namespace levee::proxy
