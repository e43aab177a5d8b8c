#include "layers/upstream/upstream_service.hpp"

#include <spdlog/spdlog.h>

#include "admin/metrics.hpp"
#include "core/clock.hpp"
#include "core/log_throttle.hpp"

namespace levee::layers {

boost::asio::awaitable<core::Response> UpstreamService::call(core::Request request) {
  if (!forward_trailers_ && !request.trailers.empty()) request.trailers = {};
  const auto started = now_();
  auto result = co_await client_->send(request, forward_trailers_);
  const auto ended = now_();
  metrics_->upstream_duration->observe(core::seconds_between(started, ended));
  if (request.phases != nullptr) {
    // A streamed body is still to be read: the session ends the span at the body's end.
    if (result && result.value().stream) {
      request.phases->upstream_open_since = started;
    } else {
      request.phases->upstream += ended - started;
    }
  }
  if (result) {
    metrics_->upstream_responses->inc();
    co_return std::move(result).value();
  }
  const auto& error = result.error();
  if (error.client_body) {
    // The client's body failed, not the upstream: nothing counts against it, and the
    // connection closes (its request is out of step).
    auto response = core::Response::text(error.status(), error.describe({}));
    response.close_connection = true;
    co_return response;
  }
  metrics_->upstream_errors[static_cast<std::size_t>(error.kind)]->inc();
  const auto& name = client_->config().name;
  std::string message = error.describe(name);
  static core::LogThrottle throttle(10);
  if (auto suppressed = throttle.admit()) {
    spdlog::warn("{} {}: {}{}", request.method, request.target, message,
                 *suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", *suppressed)
                                 : std::string{});
  }
  auto response = core::Response::text(error.status(), message);
  response.upstream_failed = true;
  co_return response;
}

}  // namespace levee::layers
