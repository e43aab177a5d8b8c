#include "router/route_table.hpp"

#include <gtest/gtest.h>

namespace levee::router {
namespace {

config::RouteConfig route(std::string name, std::string prefix,
                          std::vector<std::string> methods = {}, std::string host = {}) {
  config::RouteConfig r;
  r.name = std::move(name);
  r.path_prefix = std::move(prefix);
  r.methods = std::move(methods);
  r.host = std::move(host);
  r.upstream = "legacy";
  return r;
}

TEST(RouteTable, FirstMatchInFileOrderWins) {
  RouteTable table({route("specific", "/api/items"), route("api", "/api/"), route("all", "/")});
  EXPECT_EQ(table.match("GET", "h", "/api/items/7"), 0u);
  EXPECT_EQ(table.match("GET", "h", "/api/other"), 1u);
  EXPECT_EQ(table.match("GET", "h", "/elsewhere"), 2u);
}

TEST(RouteTable, LaterBroadRouteDoesNotShadowEarlierNarrowOne) {
  RouteTable table({route("all", "/"), route("api", "/api/")});
  EXPECT_EQ(table.match("GET", "h", "/api/x"), 0u);
}

TEST(RouteTable, NoMatchWithoutCatchAll) {
  RouteTable table({route("api", "/api/")});
  EXPECT_FALSE(table.match("GET", "h", "/apix").has_value());
  EXPECT_FALSE(table.match("GET", "h", "/").has_value());
  EXPECT_FALSE(table.match("GET", "h", "/ap").has_value());
}

TEST(RouteTable, MethodSetRestrictsAndFallsThrough) {
  RouteTable table({route("process", "/process", {"POST"}), route("rest", "/")});
  EXPECT_EQ(table.match("POST", "h", "/process"), 0u);
  EXPECT_EQ(table.match("GET", "h", "/process"), 1u);
  EXPECT_EQ(table.match("post", "h", "/process"), 1u) << "methods are case-sensitive tokens";
}

TEST(RouteTable, EmptyMethodSetMatchesEveryMethod) {
  RouteTable table({route("any", "/")});
  for (auto m : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    EXPECT_EQ(table.match(m, "h", "/x"), 0u) << m;
  }
}

TEST(RouteTable, HostMatchesCaseInsensitivelyWhenSet) {
  RouteTable table({route("a", "/", {}, "API.example.com"), route("b", "/")});
  EXPECT_EQ(table.match("GET", "api.EXAMPLE.com", "/x"), 0u);
  EXPECT_EQ(table.match("GET", "other.example.com", "/x"), 1u);
  EXPECT_EQ(table.match("GET", "", "/x"), 1u);
}

TEST(RouteTable, PrefixIsCaseSensitive) {
  RouteTable table({route("api", "/api/")});
  EXPECT_FALSE(table.match("GET", "h", "/API/x").has_value());
}

}  // namespace
}  // namespace levee::router
