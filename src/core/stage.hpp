#pragma once
// A route's chain composed at run time (issue 17.3): the layer order is data
// (runtime/layer_order.hpp), so each layer is a `Stage` and holds the rest of the chain as a
// type-erased `Next`. A layer's class template stays a `core::Service` around any inner service;
// the runtime instantiates it over `Next`, which costs one virtual call per hop.
//
// Ownership: a Next shares its stage (shared_ptr), so work that outlives the request that
// started it (a batch call sent for several workers' items, a cache refresh) keeps the stages
// it calls alive by holding a copy. Threading and cancellation: as core::Service.
//
// Next::call and Stage::call are not coroutines: they take the request by reference and hand
// it to the layer's coroutine, which moves it into its frame before it first suspends. Taking
// it by value at each of them would move a whole Request twice more per hop (measured:
// about 6 % more instructions per pass request).

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <utility>

#include "core/request.hpp"
#include "core/response.hpp"
#include "core/service.hpp"

namespace levee::core {

class Stage {
 public:
  virtual ~Stage() = default;
  [[nodiscard]] virtual boost::asio::awaitable<Response> call(Request&& request) = 0;
};

// The rest of the chain, as an inner service of any layer template.
class Next {
 public:
  Next() = default;
  explicit Next(std::shared_ptr<Stage> stage) : stage_(std::move(stage)) {}

  [[nodiscard]] boost::asio::awaitable<Response> call(Request&& request) const {
    return stage_->call(std::move(request));
  }
  [[nodiscard]] explicit operator bool() const noexcept { return stage_ != nullptr; }
  [[nodiscard]] const std::shared_ptr<Stage>& stage() const noexcept { return stage_; }

 private:
  std::shared_ptr<Stage> stage_;
};

template <Service S>
class StageOf final : public Stage {
 public:
  explicit StageOf(S service) : service_(std::move(service)) {}
  [[nodiscard]] boost::asio::awaitable<Response> call(Request&& request) override {
    return service_.call(std::move(request));
  }
  [[nodiscard]] S& service() noexcept { return service_; }

 private:
  S service_;
};

template <Service S>
[[nodiscard]] std::shared_ptr<StageOf<S>> make_stage(S service) {
  return std::make_shared<StageOf<S>>(std::move(service));
}

// The route's entry point for the router: the outermost stage behind a Handler.
class StageHandler final : public Handler {
 public:
  explicit StageHandler(Next chain) : chain_(std::move(chain)) {}
  [[nodiscard]] boost::asio::awaitable<Response> handle(Request request) override {
    return chain_.call(std::move(request));
  }

 private:
  Next chain_;
};

}  // namespace levee::core
