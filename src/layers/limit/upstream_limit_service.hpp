#pragma once
// The upstream limit (DESIGN.md "Backpressure"): at most `max_inflight` calls to one upstream
// from every worker and route together. It sits innermost, below collapse, batch and the
// breaker, so that it counts real upstream calls: a collapsed slot or a batch is one call. A
// call without a free permit waits up to its route's admission_timeout, then its request (or
// every member of its slot or batch) gets 503 with Retry-After, counted as
// levee_shed_total{reason="upstream_inflight"}.
//
// Threading: one instance per worker and route; the permit pool is shared per upstream.
// Cancellation: an abandoned call's permit is released by its guard.

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <utility>

#include "core/permit_pool.hpp"
#include "core/service.hpp"
#include "layers/limit/permit_gate.hpp"
#include "layers/limit/shed.hpp"

namespace levee::layers::limit {

template <core::Service Inner>
class UpstreamLimitService {
 public:
  UpstreamLimitService(Inner inner, std::shared_ptr<core::PermitPool> pool,
                       std::shared_ptr<const LimitRules> rules)
      : inner_(std::move(inner)), gate_(std::move(pool), std::move(rules)) {}

  [[nodiscard]] boost::asio::awaitable<core::Response> call(core::Request request) {
    core::PermitPool::Permit permit = gate_.try_acquire();
    if (!permit) {
      permit = co_await gate_.acquire();
      // A client that left while it waited in line gave its place up (its wait was
      // cancelled, or its permit came as it left): nothing is done for it, and it is no shed.
      if (request.client && request.client->gone_now()) co_return core::Response::client_closed();
    }
    if (!permit) co_return gate_.refuse(ShedReason::upstream_inflight);
    core::Response response = co_await inner_.call(std::move(request));
    // A streamed answer occupies the upstream until its last byte is read.
    if (response.stream)
      response.hold(std::make_shared<core::PermitPool::Permit>(std::move(permit)));
    co_return response;
  }

  [[nodiscard]] Inner& inner() noexcept { return inner_; }

 private:
  Inner inner_;
  PermitGate gate_;
};

}  // namespace levee::layers::limit
