#pragma once
// The proxy's dispatcher for one worker: the shared route table picks the route, and the
// worker's own pipeline for that route answers. Owned by the worker; used on its thread.

#include <memory>
#include <string>
#include <vector>

#include "core/dispatcher.hpp"
#include "router/route_table.hpp"

namespace levee::router {

struct Route {
  std::string name;
  std::unique_ptr<core::Handler> handler;
};

class Router final : public core::Dispatcher {
 public:
  Router(std::shared_ptr<const RouteTable> table, std::vector<Route> routes);

  [[nodiscard]] core::Dispatch dispatch(const core::Request& request) override;

 private:
  std::shared_ptr<const RouteTable> table_;
  std::vector<Route> routes_;
};

}  // namespace levee::router
