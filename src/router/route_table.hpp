#pragma once
// Route matching (DESIGN.md "Request flow"): routes are tried in file order and the first
// whose host (if set), path prefix and method set (if set) all match wins. Immutable after
// construction, so one table may be read from every worker at once.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace levee::router {

struct RouteMatcher {
  std::string host;  // lower-case; empty = any
  std::string path_prefix;
  std::vector<std::string> methods;  // empty = any

  [[nodiscard]] bool matches(std::string_view method, std::string_view host,
                             std::string_view path) const noexcept;
};

class RouteTable {
 public:
  explicit RouteTable(const std::vector<config::RouteConfig>& routes);

  // Index of the first matching route, in configuration order.
  [[nodiscard]] std::optional<std::size_t> match(std::string_view method, std::string_view host,
                                                 std::string_view path) const noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return matchers_.size(); }

 private:
  std::vector<RouteMatcher> matchers_;
};

}  // namespace levee::router
