#include "router/route_table.hpp"

#include "core/headers.hpp"

namespace levee::router {

bool RouteMatcher::matches(std::string_view method, std::string_view request_host,
                           std::string_view path) const noexcept {
  if (!path.starts_with(path_prefix)) return false;
  if (!host.empty() && !core::iequals(host, request_host)) return false;
  if (methods.empty()) return true;
  for (const auto& m : methods) {
    if (m == method) return true;
  }
  return false;
}

RouteTable::RouteTable(const std::vector<config::RouteConfig>& routes) {
  matchers_.reserve(routes.size());
  for (const auto& route : routes) {
    RouteMatcher matcher{route.host, route.path_prefix, route.methods};
    matcher.host = core::to_lower(matcher.host);
    matchers_.push_back(std::move(matcher));
  }
}

std::optional<std::size_t> RouteTable::match(std::string_view method, std::string_view host,
                                             std::string_view path) const noexcept {
  for (std::size_t i = 0; i < matchers_.size(); ++i) {
    if (matchers_[i].matches(method, host, path)) return i;
  }
  return std::nullopt;
}

}  // namespace levee::router
