#pragma once
// Admission (DESIGN.md "Backpressure", seed 002): a request takes one of its route's
// `max_pending` permits before anything parks or sends it, and holds it until its response
// has been written (the permit rides on the response, which the session drops after the
// write). Without a free permit it waits up to the route's `admission_timeout` in a bounded
// line, then gets 503 with Retry-After, counted as levee_shed_total{reason="max_pending"}.
// Batch routes admit in their batcher instead (include/levee/batcher.hpp), which reserves
// room in a batch as well.
//
// Threading: one instance per worker; the permit pool is shared by every worker of the route.
// Cancellation: an abandoned call's permit is released by its guard.
// Accounting: the moment the permit is granted is the request's `admitted` (core/phases.hpp).

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "core/clock.hpp"
#include "core/permit_pool.hpp"
#include "core/service.hpp"
#include "layers/limit/permit_gate.hpp"

namespace levee::layers::limit {

template <core::Service Inner>
class AdmissionService {
 public:
  AdmissionService(Inner inner, std::shared_ptr<core::PermitPool> pool,
                   std::shared_ptr<const LimitRules> rules,
                   core::NowFunction now = core::Clock::now)
      : inner_(std::move(inner)), gate_(std::move(pool), std::move(rules)), now_(std::move(now)) {}

  [[nodiscard]] boost::asio::awaitable<core::Response> call(core::Request request) {
    core::PermitPool::Permit permit = gate_.try_acquire();
    if (!permit) {
      permit = co_await gate_.acquire();
      // A client that left while it waited in line gave its place up (its wait was
      // cancelled, or its permit came as it left): nothing is done for it, and it is no shed.
      if (request.client && request.client->gone_now()) co_return core::Response::client_closed();
    }
    if (!permit) co_return gate_.refuse(ShedReason::max_pending);
    if (request.phases != nullptr) request.phases->admitted = now_();
    core::Response response = co_await inner_.call(std::move(request));
    response.hold(std::make_shared<core::PermitPool::Permit>(std::move(permit)));
    co_return response;
  }

  [[nodiscard]] Inner& inner() noexcept { return inner_; }

 private:
  Inner inner_;
  PermitGate gate_;
  core::NowFunction now_;
};

}  // namespace levee::layers::limit
