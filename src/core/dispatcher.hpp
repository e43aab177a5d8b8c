#pragma once
// What the HTTP server asks for each request: which handler answers it, and the route name
// for logs. Implemented by the router (proxy traffic) and by the admin endpoints.
// Called on the worker thread that read the request; must not block.

#include <memory>
#include <string_view>

#include "core/request.hpp"
#include "core/service.hpp"

namespace levee::core {

struct Dispatch {
  std::string_view route;      // empty when nothing matched
  Handler* handler = nullptr;  // null: no route matches (the server answers 404)
  // Owns what `route` and `handler` point into (the configuration snapshot the request
  // started on); the caller holds the Dispatch until the response is written, so a reload
  // never frees a chain a request is still in.
  std::shared_ptr<const void> keep_alive;
};

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  [[nodiscard]] virtual Dispatch dispatch(const Request& request) = 0;
};

}  // namespace levee::core
