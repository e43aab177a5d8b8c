#include "router/router.hpp"

#include <cassert>

namespace levee::router {

Router::Router(std::shared_ptr<const RouteTable> table, std::vector<Route> routes)
    : table_(std::move(table)), routes_(std::move(routes)) {
  assert(table_->size() == routes_.size());
}

core::Dispatch Router::dispatch(const core::Request& request) {
  auto index = table_->match(request.method, request.host(), request.path());
  if (!index) return {};
  auto& route = routes_[*index];
  return {route.name, route.handler.get(), nullptr};
}

}  // namespace levee::router
