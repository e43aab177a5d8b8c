#pragma once
// The outermost layer of every route: counts each answer by status class and observes the
// time from the request being read to the response being ready, and names the route's phase
// sink (core/phases.hpp) to the session, which records the request's breakdown once it has
// written the answer. Touches nothing else.
// Runs on the worker's io_context; if the call is abandoned, nothing is recorded.

#include <boost/asio/awaitable.hpp>
#include <utility>

#include "admin/metrics.hpp"
#include "core/clock.hpp"
#include "core/phases.hpp"
#include "core/service.hpp"
#include "layers/metrics/route_metrics.hpp"

namespace levee::layers {

template <core::Service Inner>
class MetricsService {
 public:
  MetricsService(Inner inner, const RouteMetrics& metrics, core::NowFunction now = core::Clock::now,
                 const core::PhaseSink* phases = nullptr)
      : inner_(std::move(inner)), metrics_(&metrics), now_(std::move(now)), phases_(phases) {}

  [[nodiscard]] boost::asio::awaitable<core::Response> call(core::Request request) {
    const auto started = request.received_at;
    if (request.phases != nullptr) request.phases->sink = phases_;
    core::Response response = co_await inner_.call(std::move(request));
    const int status_class = response.status / 100;
    if (status_class >= 1 && status_class <= 5) {
      metrics_->requests_by_class[static_cast<std::size_t>(status_class - 1)]->inc();
    }
    metrics_->request_duration->observe(core::seconds_between(started, now_()));
    co_return response;
  }

  [[nodiscard]] Inner& inner() noexcept { return inner_; }

 private:
  Inner inner_;
  const RouteMetrics* metrics_;
  core::NowFunction now_;
  const core::PhaseSink* phases_;  // registry-owned: outlives every request
};

}  // namespace levee::layers
