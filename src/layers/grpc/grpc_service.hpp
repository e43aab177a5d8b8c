#pragma once
// The gRPC face of a route with `grpc = true` (issue 20): the outermost layer, so that every
// answer a gRPC client gets from levee speaks gRPC. It honours grpc-timeout as the call's
// deadline (DEADLINE_EXCEEDED when it passes first; the rest of the chain is cancelled, as
// when a client leaves) and turns levee's own refusals into trailers-only answers
// (layers/grpc/grpc_status.hpp). Requests that are not gRPC pass through untouched.
//
// On a collapse route the upstream call is shared, so no one member's deadline may end it:
// grpc-timeout is not sent upstream, each member's deadline is kept here, and the call is
// bounded by the upstream's request_timeout (levee resets the stream then, which a gRPC
// server sees as CANCELLED). Otherwise a member with a short deadline that led the call
// would have the server answer DEADLINE_EXCEEDED to every member.
//
// Threading and cancellation: as every service (core/service.hpp).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>
#include <variant>

#include "admin/metrics.hpp"
#include "core/request.hpp"
#include "core/response.hpp"
#include "layers/grpc/grpc_status.hpp"

namespace levee::layers::grpc {

struct GrpcMetrics {
  admin::Counter* deadline_exceeded = nullptr;  // grpc-timeout passed before the answer
  admin::Counter* mapped = nullptr;             // answers levee turned into a gRPC status
};

struct GrpcRules {
  GrpcMetrics metrics;
  // A collapse route: upstream calls are shared, so grpc-timeout stays here.
  bool shares_upstream_calls = false;
};

template <class Inner>
class GrpcService {
 public:
  GrpcService(Inner inner, GrpcRules rules) : inner_(std::move(inner)), rules_(rules) {}

  [[nodiscard]] boost::asio::awaitable<core::Response> call(core::Request request) {
    if (!is_grpc_request(request)) co_return co_await inner_.call(std::move(request));
    const std::string* timeout_field = request.headers.find("grpc-timeout");
    const auto timeout =
        timeout_field != nullptr ? parse_grpc_timeout(*timeout_field) : std::nullopt;
    if (rules_.shares_upstream_calls && timeout_field != nullptr) {
      request.headers.remove("grpc-timeout");
    }
    core::Response response;
    if (!timeout) {
      response = co_await inner_.call(std::move(request));
    } else {
      using namespace boost::asio::experimental::awaitable_operators;
      boost::asio::steady_timer deadline(co_await boost::asio::this_coro::executor, *timeout);
      auto outcome = co_await (inner_.call(std::move(request)) ||
                               deadline.async_wait(boost::asio::use_awaitable));
      if (outcome.index() == 0) {
        response = std::move(std::get<0>(outcome));
      } else {
        if (rules_.metrics.deadline_exceeded != nullptr) rules_.metrics.deadline_exceeded->inc();
        co_return trailers_only(StatusCode::deadline_exceeded,
                                "deadline (grpc-timeout) passed before the upstream answered");
      }
    }
    if (needs_no_mapping(response)) co_return response;
    if (rules_.metrics.mapped != nullptr) rules_.metrics.mapped->inc();
    co_return to_grpc_answer(std::move(response));
  }

 private:
  Inner inner_;
  GrpcRules rules_;
};

}  // namespace levee::layers::grpc
