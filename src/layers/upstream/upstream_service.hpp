#pragma once
// The innermost layer: sends the request to the route's upstream through the worker's pool
// and turns an upstream failure into the client's answer (502 refused/reset/invalid, 504
// timed out) with a short text body naming the upstream and the cause. Counts upstream
// calls and their outcomes. Runs on the worker's io_context.
// A request's trailer fields go upstream only when the route forwards trailers; otherwise
// they are dropped here, as nginx does.
// Accounting: the call's time is the request's `upstream` phase (core/phases.hpp), from the
// hand-over to the upstream client (a pooled connection's reuse, or a new one's connect) to the
// last byte read; for a streamed body the session ends it when the body ends.

#include <boost/asio/awaitable.hpp>
#include <utility>

#include "core/clock.hpp"
#include "core/service.hpp"
#include "layers/metrics/route_metrics.hpp"
#include "upstream/upstream_client.hpp"

namespace levee::layers {

class UpstreamService {
 public:
  UpstreamService(upstream::UpstreamClient& client, const RouteMetrics& metrics,
                  bool forward_trailers = false, core::NowFunction now = core::Clock::now)
      : client_(&client),
        metrics_(&metrics),
        forward_trailers_(forward_trailers),
        now_(std::move(now)) {}

  [[nodiscard]] boost::asio::awaitable<core::Response> call(core::Request request);

 private:
  upstream::UpstreamClient* client_;
  const RouteMetrics* metrics_;
  bool forward_trailers_;
  core::NowFunction now_;
};

}  // namespace levee::layers
