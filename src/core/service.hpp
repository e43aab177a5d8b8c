#pragma once
// The one interface of the request path (DESIGN.md "Request flow"): a service answers a
// Request with an awaitable Response. Layers are class templates around an inner service; the
// proxy composes them at run time over core::Next (core/stage.hpp), in the order
// runtime/layer_order.hpp gives, and the router calls a route through `Handler`.
//
// Threading: a service instance belongs to one worker and is called only on that worker's
// io_context. Cancellation: when the awaiting coroutine is destroyed, or its cancellation slot
// fires (the session's, when the client leaves), the call is abandoned; layers hold resources
// in RAII guards so abandonment releases them.

#include <boost/asio/awaitable.hpp>
#include <concepts>
#include <memory>
#include <utility>

#include "core/request.hpp"
#include "core/response.hpp"

namespace levee::core {

template <class S>
concept Service = requires(S& service, Request request) {
  { service.call(std::move(request)) } -> std::same_as<boost::asio::awaitable<Response>>;
};

// Type-erased entry point of a route (or of the admin endpoints).
class Handler {
 public:
  virtual ~Handler() = default;
  [[nodiscard]] virtual boost::asio::awaitable<Response> handle(Request request) = 0;
};

template <Service S>
class ServiceHandler final : public Handler {
 public:
  explicit ServiceHandler(S service) : service_(std::move(service)) {}
  [[nodiscard]] boost::asio::awaitable<Response> handle(Request request) override {
    return service_.call(std::move(request));
  }
  [[nodiscard]] S& service() noexcept { return service_; }

 private:
  S service_;
};

template <Service S>
[[nodiscard]] std::unique_ptr<Handler> erase(S service) {
  return std::make_unique<ServiceHandler<S>>(std::move(service));
}

}  // namespace levee::core
