#include "proxy/proxy_metrics.hpp"

#include <array>
#include <string>

#include "layers/limit/shed.hpp"
#include "upstream/upstream_error.hpp"

namespace levee::proxy {

namespace {
constexpr std::array<std::string_view, 5> k_classes = {"1xx", "2xx", "3xx", "4xx", "5xx"};
// Requests per upstream call, and a slot's age in seconds (seed 000's millisecond buckets,
// wider, in the base unit Prometheus expects: 0.5 ms to 10 s).
constexpr std::array<double, 12> k_size_buckets = {1,  2,   4,   8,   16,   32,
                                                   64, 128, 256, 512, 1024, 4096};
constexpr std::array<double, 14> k_age_buckets = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                                  0.1,    0.2,   0.5,   1,     2,    5,    10};
}  // namespace

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
                                                   {"route"})),
      shed_(registry.counter_family(
          "levee_shed_total",
          "Requests refused with 503 for want of capacity, by reason (max_pending, "
          "upstream_inflight, breaker_open).",
          {"route", "reason"})),
      phase_(registry.histogram_family(
          "levee_request_phase_seconds",
          "Where an answered request's time went, per route and mode: admission (waiting for "
          "the route's permit), parked (the wait for a collapse slot or batch to be due to go), "
          "upstream (the call), proxy (levee's own work besides), total (last request byte "
          "parsed to last answer byte handed to the socket).",
          {"route", "mode", "phase"}, layers::phase_buckets())),
      added_latency_(registry.histogram_family(
          "levee_added_latency_seconds",
          "Latency levee adds to a bare upstream, per route and mode: total minus upstream "
          "minus parked.",
          {"route", "mode"}, layers::phase_buckets())) {
  server_.open_connections =
      &registry.gauge("levee_open_connections", "Client connections open now.");
  server_.loop_lag = &registry.histogram_family(
      "levee_event_loop_lag_seconds",
      "How late each worker's event loop ran a timer that was due, sampled every 100 ms: the "
      "wait before the worker gets to work that is ready. Above a few milliseconds the worker "
      "is saturated, and every request on it waits that long more.",
      {"worker"}, layers::phase_buckets());
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
  auto& http2 = server_.http2;
  http2.connections = &registry.counter("levee_http2_connections_total",
                                        "Client connections served as HTTP/2 (h2c and h2).");
  http2.streams = &registry.counter("levee_http2_streams_total",
                                    "HTTP/2 streams that carried a client request.");
  http2.client_resets = &registry.counter("levee_http2_client_resets_total",
                                          "HTTP/2 streams the client reset with RST_STREAM.");
  auto& goaways = registry.counter_family(
      "levee_http2_goaways_sent_total",
      "HTTP/2 connections levee ended with GOAWAY, by reason (flood and rapid_reset are "
      "attacks or broken clients).",
      {"reason"});
  for (std::size_t i = 0; i < http2.goaways.size(); ++i) {
    http2.goaways[i] = &goaways.with({server::to_string(static_cast<server::GoawayReason>(i))});
  }
  auto& resets = registry.counter_family("levee_http2_stream_resets_sent_total",
                                         "HTTP/2 streams levee reset, by reason.", {"reason"});
  for (std::size_t i = 0; i < http2.resets.size(); ++i) {
    http2.resets[i] = &resets.with({server::to_string(static_cast<server::StreamResetReason>(i))});
  }
  auto& handshakes = registry.counter_family(
      "levee_tls_handshakes_total",
      "TLS handshakes completed with clients, by the protocol ALPN chose (http/1.1 also when "
      "the client offered none).",
      {"protocol"});
  for (std::size_t i = 0; i < server_.tls.handshakes.size(); ++i) {
    server_.tls.handshakes[i] =
        &handshakes.with({server::to_string(static_cast<server::TlsProtocol>(i))});
  }
  auto& failures = registry.counter_family(
      "levee_tls_handshake_failures_total",
      "TLS handshakes with clients that failed: timeout (not done within header_timeout), "
      "closed (the client left), version (no TLS version levee accepts), no_shared_cipher, "
      "bad_handshake (anything else OpenSSL refused).",
      {"reason"});
  for (std::size_t i = 0; i < server_.tls.failures.size(); ++i) {
    server_.tls.failures[i] =
        &failures.with({server::to_string(static_cast<server::TlsFailure>(i))});
  }
}

const layers::RouteMetrics& ProxyMetrics::add_route(std::string_view route) {
  if (auto it = routes_.find(route); it != routes_.end()) return *it->second;
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
  for (std::size_t i = 0; i < metrics->shed.size(); ++i) {
    metrics->shed[i] =
        &shed_.with({route, layers::limit::to_string(static_cast<layers::limit::ShedReason>(i))});
  }
  return *routes_.emplace(std::string(route), std::move(metrics)).first->second;
}

const layers::PhaseMetrics& ProxyMetrics::add_route_phases(std::string_view route,
                                                           std::string_view mode) {
  std::string key = std::string(route) + '\n' + std::string(mode);
  if (auto it = phases_.find(key); it != phases_.end()) return *it->second;
  auto metrics = std::make_unique<layers::PhaseMetrics>();
  for (std::size_t i = 0; i < layers::k_phase_names.size(); ++i) {
    const std::string_view phase = layers::k_phase_names[i];
    if ((phase == "parked" && mode == "pass") || (phase == "admission" && mode == "batch")) {
      continue;
    }
    metrics->phases[i] = &phase_.with({route, mode, phase});
  }
  metrics->added = &added_latency_.with({route, mode});
  return *phases_.emplace(std::move(key), std::move(metrics)).first->second;
}

void ProxyMetrics::ensure_flush_families() {
  if (flushes_ != nullptr) return;
  flushes_ =
      &registry_.counter_family("levee_batch_flush_total",
                                "Slots and batches sent upstream, by reason.", {"route", "reason"});
  size_at_flush_ = &registry_.histogram_family(
      "levee_batch_size_at_flush", "Requests answered by one upstream call of a slot or batch.",
      {"route"}, k_size_buckets);
  age_at_flush_ = &registry_.histogram_family(
      "levee_batch_age_at_flush_seconds",
      "Seconds from a slot or batch opening to its answer (inflight) or flush.", {"route"},
      k_age_buckets);
}

layers::batch::BatchMetricChildren ProxyMetrics::add_batch_route(std::string_view route) {
  ensure_flush_families();
  if (batch_calls_ == nullptr) {
    batch_calls_ = &registry_.counter_family(
        "levee_batch_calls_total",
        "Calls to a batch route's upstream batch endpoint, by outcome: ok, call_failed (refused, "
        "timed out or not 2xx), demux_failed (the response could not be cut into items).",
        {"route", "outcome"});
    batch_items_ = &registry_.counter_family(
        "levee_batch_items_total",
        "Items on batch routes, by what their caller got: ok, item_failed (marked failed by the "
        "upstream), batch_failed, shed (503, no capacity), withdrawn (client gone before its "
        "batch left), invalid (refused before parking).",
        {"route", "outcome"});
  }
  layers::batch::BatchMetricChildren children;
  for (std::size_t i = 0; i < children.flushes.size(); ++i) {
    children.flushes[i] = &flushes_->with({route, to_string(static_cast<FlushReason>(i))});
  }
  children.size_at_flush = &size_at_flush_->with({route});
  children.age_at_flush = &age_at_flush_->with({route});
  for (std::size_t i = 0; i < children.calls.size(); ++i) {
    children.calls[i] = &batch_calls_->with(
        {route, layers::batch::to_string(static_cast<layers::batch::CallOutcome>(i))});
  }
  for (std::size_t i = 0; i < children.items.size(); ++i) {
    children.items[i] = &batch_items_->with(
        {route, layers::batch::to_string(static_cast<layers::batch::ItemOutcomeKind>(i))});
  }
  return children;
}

layers::collapse::CollapseMetrics ProxyMetrics::add_collapse_route(std::string_view route) {
  ensure_flush_families();
  if (collapse_requests_ == nullptr) {
    collapse_requests_ = &registry_.counter_family(
        "levee_collapse_requests_total",
        "Requests on collapse routes, by role: leader (its own upstream call), follower "
        "(answered by another request's call), bypass (not collapsed), client_gone (a "
        "follower whose client went away while it waited).",
        {"route", "role"});
  }
  layers::collapse::CollapseMetrics metrics;
  metrics.leaders = &collapse_requests_->with({route, "leader"});
  metrics.followers = &collapse_requests_->with({route, "follower"});
  metrics.bypassed = &collapse_requests_->with({route, "bypass"});
  metrics.gone = &collapse_requests_->with({route, "client_gone"});
  // Reasons a collapse slot can go for; bytes_cap and duplicate_key are batch-only.
  for (FlushReason reason : {FlushReason::immediate, FlushReason::timeout, FlushReason::size_cap,
                             FlushReason::policy, FlushReason::shutdown}) {
    metrics.flushes[static_cast<std::size_t>(reason)] = &flushes_->with({route, to_string(reason)});
  }
  metrics.size_at_flush = &size_at_flush_->with({route});
  metrics.age_at_flush = &age_at_flush_->with({route});
  return metrics;
}

}  // namespace levee::proxy
