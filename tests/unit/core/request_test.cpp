#include "core/request.hpp"

#include <gtest/gtest.h>

namespace levee::core {
namespace {

TEST(Request, SplitsPathAndQuery) {
  Request r;
  r.target = "/api/items?id=7&x=%20";
  EXPECT_EQ(r.path(), "/api/items");
  EXPECT_EQ(r.query(), "id=7&x=%20");
  r.target = "/plain";
  EXPECT_EQ(r.path(), "/plain");
  EXPECT_EQ(r.query(), "");
}

TEST(Request, HostWithoutPort) {
  Request r;
  EXPECT_EQ(r.host(), "");
  r.headers.add("host", "api.example.com:8080");
  EXPECT_EQ(r.host(), "api.example.com");
  r.headers.set("Host", "[::1]:8080");
  EXPECT_EQ(r.host(), "[::1]");
  r.headers.set("Host", "plain");
  EXPECT_EQ(r.host(), "plain");
}

TEST(Headers, CaseInsensitiveFindSetRemove) {
  Headers h;
  h.add("Set-Cookie", "a=1");
  h.add("set-cookie", "b=2");
  EXPECT_EQ(*h.find("SET-COOKIE"), "a=1");
  EXPECT_EQ(h.remove("Set-Cookie"), 2u);
  h.set("X", "1");
  h.set("x", "2");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(*h.find("X"), "2");
}

TEST(Headers, CaseFoldsOnlyAsciiLetters) {
  EXPECT_EQ(to_lower("Content-Type: X-Levee_1"), "content-type: x-levee_1");
  EXPECT_EQ(to_lower("\xC3\x89t\xC3\xA9"), "\xC3\x89t\xC3\xA9");  // bytes >= 0x80 stay as they are
  EXPECT_EQ(ascii_lower('@'), '@');                               // 'A' - 1
  EXPECT_EQ(ascii_lower('['), '[');                               // 'Z' + 1
  EXPECT_TRUE(iequals("GRPC-Timeout", "grpc-timeout"));
  EXPECT_FALSE(iequals("grpc-timeout", "grpc-timeouts"));
  EXPECT_FALSE(iequals("a@", "a`"));  // '@' and '`' differ by the case bit but are not letters
}

TEST(Headers, CopiesOfAFrozenListShareItUntilOneChanges) {
  Headers original;
  original.add("Content-Type", "text/plain");
  original.add("ETag", "\"v1\"");
  original.freeze();
  ASSERT_TRUE(original.frozen());
  const Headers copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(&*copy.begin(), &*original.begin());
  EXPECT_EQ(*copy.find("etag"), "\"v1\"");
  EXPECT_EQ(original.remove("X-Absent"), 0u);  // nothing to change: still shared
  EXPECT_TRUE(original.frozen());

  Headers changed = copy;
  changed.set("X-Levee-Collapse", "follower");
  EXPECT_FALSE(changed.frozen());
  EXPECT_EQ(changed.size(), 3u);
  EXPECT_EQ(copy.size(), 2u);  // the shared list is never changed
  EXPECT_FALSE(copy.contains("X-Levee-Collapse"));
  EXPECT_NE(&*changed.begin(), &*copy.begin());
  EXPECT_EQ(changed.remove("etag"), 1u);
  EXPECT_EQ(*copy.find("ETag"), "\"v1\"");
}

TEST(Request, IdempotentMethods) {
  for (auto m : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"}) EXPECT_TRUE(is_idempotent(m));
  for (auto m : {"POST", "PATCH", "CONNECT"}) EXPECT_FALSE(is_idempotent(m));
}

}  // namespace
}  // namespace levee::core
