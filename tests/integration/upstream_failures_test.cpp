// What a client sees when the upstream fails: 502 when it refuses, resets or is too big,
// 504 when it is too slow, each with a short body naming the upstream and the cause.

#include <gtest/gtest.h>

#include <string>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/ports.hpp"

namespace levee::testing {
namespace {

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(UpstreamFailures, UpstreamDownGives502NamingTheUpstream) {
  LeveeOptions options;
  options.upstream_address = "127.0.0.1:" + std::to_string(unused_port());
  Stack stack(options);
  auto r = http_get(stack.port(), "/api/x");
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.status, 502);
  EXPECT_TRUE(contains(r.body, "upstream \"legacy\" refused the connection")) << r.body;
  EXPECT_EQ(r.header("Content-Type").value_or(""), "text/plain; charset=utf-8");
  // The connection to the client survives an upstream failure.
  HttpConnection c(stack.port());
  EXPECT_EQ(c.request("GET", "/api/a").status, 502);
  EXPECT_EQ(c.request("GET", "/api/b").status, 502);
}

TEST(UpstreamFailures, SlowUpstreamGives504AfterRequestTimeout) {
  LeveeOptions options;
  options.upstream_extra = "request_timeout = \"300ms\"\n";
  Stack stack(options);
  auto r = http_get(stack.port(), "/slow?ms=3000");
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.status, 504);
  EXPECT_TRUE(contains(r.body, "upstream \"legacy\" did not answer in time")) << r.body;
  // A fast request right after is unaffected (the timed-out connection was not pooled).
  auto fast = http_get(stack.port(), "/api/fast");
  ASSERT_TRUE(fast.ok) << fast;
  EXPECT_EQ(fast.status, 200);
}

// max_response_bytes bounds what levee must hold (a collapse slot's replay here), never what
// it only passes on: a pass route streams an answer of any size.
TEST(UpstreamFailures, OversizedUpstreamResponseGives502WhereLeveeMustHoldIt) {
  LeveeOptions options;
  options.upstream_extra = "max_response_bytes = \"1KiB\"\n";
  options.routes =
      "[[routes]]\nname = \"held\"\npath_prefix = \"/api/held\"\nupstream = \"legacy\"\n"
      "mode = \"collapse\"\n[routes.collapse]\nmethods = [\"POST\"]\n\n"
      "[[routes]]\nname = \"api\"\npath_prefix = \"/api\"\nupstream = \"legacy\"\n"
      "mode = \"pass\"\n";
  Stack stack(options);
  auto held = http_post(stack.port(), "/api/held/big", std::string(4096, 'z'));  // echoed back
  ASSERT_TRUE(held.ok) << held;
  EXPECT_EQ(held.status, 502);
  EXPECT_TRUE(contains(held.body, "over the size limit")) << held.body;
  auto passed = http_post(stack.port(), "/api/big", std::string(4096, 'z'));
  ASSERT_TRUE(passed.ok) << passed;
  EXPECT_EQ(passed.status, 200);
  EXPECT_TRUE(contains(passed.body, std::string(4096, 'z')));
}

TEST(UpstreamFailures, UpstreamThatDiesMidRunGives502ThenRecovers) {
  Stack stack;
  HttpConnection c(stack.port());
  auto before = c.request("GET", "/api/warm");  // leaves a pooled connection behind
  ASSERT_TRUE(before.ok) << before;
  EXPECT_EQ(before.status, 200);
  stack.upstream.process.send_signal(SIGKILL);
  (void)stack.upstream.process.wait_exit(std::chrono::seconds(5));
  auto during = c.request("GET", "/api/down");
  ASSERT_TRUE(during.ok) << during;
  EXPECT_EQ(during.status, 502) << during.body;
}

}  // namespace
}  // namespace levee::testing
