#pragma once
// The breaker layer (DESIGN.md "Cache and circuit breaker"): asks the upstream's
// CircuitBreaker before every call to the inner service.
// - Refused (open, or every half-open probe slot taken): answers
//   `503 upstream <name> circuit open` with `Retry-After: <seconds>` at once, without
//   calling the inner service. Inside collapse and batch, so every member of a slot gets it.
// - Admitted: calls the inner service and reports the call as a failure when no upstream
//   answer came (Response::upstream_failed: refused, reset, timed out, invalid) or, with
//   count_5xx, when the upstream answered 5xx; as a success otherwise.
// - Cancelled (the awaiting coroutine is destroyed mid-call) or an exception from the inner
//   service: the ticket is dropped unrecorded, so the call counts nothing and a half-open
//   probe slot is given back.
//
// - A null breaker (the upstream's breaker is disabled) passes every call through; a response
//   the upstream limit shed (Response::shed) counts nothing.
//
// Runs on the calling worker's io_context; the breaker is shared by every worker and every
// route of that upstream, and outlives the service (the shared_ptr).

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "admin/metrics.hpp"
#include "core/service.hpp"
#include "layers/breaker/circuit_breaker.hpp"

namespace levee::layers::breaker {

// The route's Prometheus children (proxy/proxy_metrics.cpp); any may be null (unit tests).
struct BreakerMetrics {
  admin::Counter* rejected = nullptr;  // answered 503 without calling the upstream
  admin::Counter* failures = nullptr;  // admitted calls reported as failures
};

template <core::Service Inner>
class BreakerService {
 public:
  BreakerService(Inner inner, std::shared_ptr<CircuitBreaker> breaker, std::string_view upstream,
                 BreakerMetrics metrics = {})
      : inner_(std::move(inner)),
        breaker_(std::move(breaker)),
        refusal_("upstream " + std::string(upstream) + " circuit open"),
        metrics_(metrics) {}

  [[nodiscard]] boost::asio::awaitable<core::Response> call(core::Request request) {
    if (!breaker_) co_return co_await inner_.call(std::move(request));  // enabled = false
    Admission admission = breaker_->try_acquire();
    if (!admission) {
      if (metrics_.rejected != nullptr) metrics_.rejected->inc();
      core::Response refused = core::Response::text(503, refusal_);
      refused.breaker_open = true;
      refused.headers.set("Retry-After", std::to_string(admission.retry_after.count()));
      co_return refused;
    }
    Ticket ticket = std::move(admission.ticket);
    core::Response response = co_await inner_.call(std::move(request));
    // Refused below for want of capacity: the upstream was not asked, so nothing is counted.
    if (response.shed) co_return response;
    const bool failed =
        response.upstream_failed || (breaker_->settings().count_5xx && response.status >= 500);
    if (failed && metrics_.failures != nullptr) metrics_.failures->inc();
    ticket.record(failed ? Outcome::failure : Outcome::success);
    co_return response;
  }

  [[nodiscard]] Inner& inner() noexcept { return inner_; }
  [[nodiscard]] const std::shared_ptr<CircuitBreaker>& breaker() const noexcept { return breaker_; }

 private:
  Inner inner_;
  std::shared_ptr<CircuitBreaker> breaker_;
  std::string refusal_;  // the 503's body
  BreakerMetrics metrics_;
};

}  // namespace levee::layers::breaker
