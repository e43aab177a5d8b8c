#include "layers/collapse/collapse_key.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace levee::layers::collapse {
namespace {

const std::vector<std::string> k_vary = {"authorization", "cookie", "accept"};

core::Request get(std::string target, std::vector<core::Header> headers = {}) {
  core::Request request;
  request.method = "GET";
  request.target = std::move(target);
  request.headers.add("Host", "api.example:8080");
  for (const auto& header : headers) request.headers.add(header.name, header.value);
  return request;
}

CollapseKey key_of(const core::Request& request, bool with_body = false) {
  return make_collapse_key(request, k_vary, with_body);
}

TEST(CollapseKey, IdenticalRequestsHaveEqualKeys) {
  EXPECT_EQ(key_of(get("/a?x=1", {{"Authorization", "u1"}})),
            key_of(get("/a?x=1", {{"authorization", "u1"}})));
  // Headers outside `vary` do not matter; Host case does not either.
  core::Request other = get("/a?x=1", {{"Authorization", "u1"}, {"X-Trace", "42"}});
  other.headers.set("Host", "API.example:8080");
  EXPECT_EQ(key_of(get("/a?x=1", {{"Authorization", "u1"}})), key_of(other));
}

TEST(CollapseKey, EveryComponentSeparatesKeys) {
  const CollapseKey base = key_of(get("/a?x=1", {{"Authorization", "u1"}}));
  EXPECT_NE(base, key_of(get("/a?x=2", {{"Authorization", "u1"}})));  // query
  EXPECT_NE(base, key_of(get("/b?x=1", {{"Authorization", "u1"}})));  // path
  EXPECT_NE(base, key_of(get("/a?x=1", {{"Authorization", "u2"}})));  // credentials
  EXPECT_NE(base, key_of(get("/a?x=1")));                             // no credentials
  EXPECT_NE(base, key_of(get("/a?x=1", {{"Authorization", "u1"}, {"Accept", "text/html"}})));
  core::Request other_host = get("/a?x=1", {{"Authorization", "u1"}});
  other_host.headers.set("Host", "other.example:8080");
  EXPECT_NE(base, key_of(other_host));
  core::Request head = get("/a?x=1", {{"Authorization", "u1"}});
  head.method = "HEAD";
  EXPECT_NE(base, key_of(head));
}

TEST(CollapseKey, AbsentAndEmptyHeadersDiffer) {
  EXPECT_NE(key_of(get("/a")), key_of(get("/a", {{"Cookie", ""}})));
  EXPECT_NE(key_of(get("/a", {{"Cookie", "a"}, {"Cookie", "b"}})),
            key_of(get("/a", {{"Cookie", "ab"}})));
}

TEST(CollapseKey, ComponentsCannotRunTogether) {
  // "/a" + "b=1" must not equal "/ab" + "=1" or the like.
  EXPECT_NE(key_of(get("/a?b=1")), key_of(get("/a?b=")));
  EXPECT_NE(key_of(get("/ab?=1")), key_of(get("/a?b=1")));
}

TEST(CollapseKey, BodyCountsOnlyWhenAsked) {
  core::Request a = get("/rpc");
  a.method = "POST";
  a.body = "{\"q\":1}";
  core::Request b = a;
  b.body = "{\"q\":2}";
  EXPECT_EQ(key_of(a, false), key_of(b, false));
  EXPECT_NE(key_of(a, true), key_of(b, true));
  EXPECT_EQ(key_of(a, true), key_of(core::Request(a), true));
}

}  // namespace
}  // namespace levee::layers::collapse
