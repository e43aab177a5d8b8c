#pragma once
// What the HTTP server asks for each request: which handler answers it, and the route name
// for logs. Implemented by the router (proxy traffic) and by the admin endpoints.
// Called on the worker thread that read the request; must not block.

#include <string_view>

#include "core/request.hpp"
#include "core/service.hpp"

namespace levee::core {

struct Dispatch {
  std::string_view route;      // empty when nothing matched
  Handler* handler = nullptr;  // null: no route matches (the server answers 404)
};

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  [[nodiscard]] virtual Dispatch dispatch(const Request& request) = 0;
};

}  // namespace levee::core
