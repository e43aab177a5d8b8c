// levee in front of levee-upstream: what a client sends arrives upstream, what the upstream
// answers arrives back, over keep-alive, pipelined and chunked connections.

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"

namespace levee::testing {
namespace {

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

class ProxyForwarding : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { stack_ = new Stack(); }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static std::uint16_t port() { return stack_->port(); }
  static Stack* stack_;
};
Stack* ProxyForwarding::stack_ = nullptr;

TEST_F(ProxyForwarding, GetForwardsPathQueryAndHeaders) {
  auto r = http_get(port(), "/api/items?id=7&x=a%20b",
                    {{"Authorization", "Bearer alice"}, {"X-Custom", "kept"}});
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(contains(r.body, R"("method":"GET")")) << r.body;
  EXPECT_TRUE(contains(r.body, R"("path":"/api/items")")) << r.body;
  EXPECT_TRUE(contains(r.body, R"("query":"id=7&x=a%20b")")) << r.body;
  EXPECT_TRUE(contains(r.body, R"("authorization":"Bearer alice")")) << r.body;
  EXPECT_TRUE(contains(r.body, R"("x-custom":"kept")")) << r.body;
  EXPECT_TRUE(contains(r.body, R"("x-forwarded-for":"127.0.0.1")")) << r.body;
  EXPECT_TRUE(contains(r.body, R"("x-forwarded-proto":"http")")) << r.body;
  EXPECT_TRUE(contains(r.body, R"("via":"1.1 levee")")) << r.body;
  EXPECT_EQ(r.header("Via").value_or(""), "1.1 levee");
}

TEST_F(ProxyForwarding, ForwardedForAppendsToClientSuppliedChain) {
  auto r = http_get(port(), "/api/xff", {{"X-Forwarded-For", "203.0.113.9"}});
  ASSERT_TRUE(r.ok) << r;
  EXPECT_TRUE(contains(r.body, R"("x-forwarded-for":"203.0.113.9, 127.0.0.1")")) << r.body;
}

TEST_F(ProxyForwarding, PostBodyArrivesIntact) {
  const std::string body = R"({"id": 42, "name": "quote\" and \\ backslash"})";
  auto r = http_post(port(), "/process", body, {{"Content-Type", "application/json"}});
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(contains(r.body, R"("id":42)")) << r.body;
  EXPECT_TRUE(contains(r.body, R"("result":"processed")")) << r.body;
}

TEST_F(ProxyForwarding, PutAndDeleteWithBodyReachApi) {
  auto put = http_request(port(), "PUT", "/api/put", {}, "payload-123");
  ASSERT_TRUE(put.ok) << put;
  EXPECT_TRUE(contains(put.body, R"("method":"PUT")"));
  EXPECT_TRUE(contains(put.body, R"("body":"payload-123")")) << put.body;
  auto del = http_request(port(), "DELETE", "/api/put");
  ASSERT_TRUE(del.ok) << del;
  EXPECT_TRUE(contains(del.body, R"("method":"DELETE")"));
}

TEST_F(ProxyForwarding, HopByHopHeadersAreNotForwarded) {
  auto r = http_get(port(), "/api/hop",
                    {{"Connection", "keep-alive, X-Secret"},
                     {"X-Secret", "s"},
                     {"Proxy-Authorization", "Basic eA=="},
                     {"Keep-Alive", "timeout=5"},
                     {"X-Visible", "v"}});
  ASSERT_TRUE(r.ok) << r;
  EXPECT_FALSE(contains(r.body, "x-secret")) << r.body;
  EXPECT_FALSE(contains(r.body, "proxy-authorization")) << r.body;
  EXPECT_FALSE(contains(r.body, "keep-alive")) << r.body;
  EXPECT_TRUE(contains(r.body, R"("x-visible":"v")")) << r.body;
}

TEST_F(ProxyForwarding, UpstreamStatusesPassThrough) {
  auto e = http_get(port(), "/status/503");
  ASSERT_TRUE(e.ok) << e;
  EXPECT_EQ(e.status, 503);
  auto nc = http_get(port(), "/status/204");
  ASSERT_TRUE(nc.ok) << nc;
  EXPECT_EQ(nc.status, 204);
  EXPECT_TRUE(nc.body.empty());
}

// levee frames the answer itself: with Content-Length when the whole chunked answer came in
// its first read, chunked again when it is still streaming; either way the body is the same.
TEST_F(ProxyForwarding, ChunkedUpstreamResponseIsReframed) {
  auto r = http_get(port(), "/chunked");
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.body.empty());
  const auto direct = http_get(stack_->upstream.port, "/chunked");
  ASSERT_TRUE(direct.ok) << direct;
  EXPECT_EQ(r.body, direct.body);
  if (!r.chunked) {
    EXPECT_EQ(r.header("Content-Length").value_or(""), std::to_string(r.body.size()));
  }
}

TEST_F(ProxyForwarding, HeadHasHeadersButNoBody) {
  HttpConnection c(port());
  ASSERT_TRUE(c.send_raw(format_request(port(), "HEAD", "/api/head")));
  auto r = c.read_response(/*head_request=*/true);
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
  // The connection stays usable: no stray body bytes were sent.
  auto next = c.request("GET", "/api/after-head");
  ASSERT_TRUE(next.ok) << next;
  EXPECT_EQ(next.status, 200);
}

TEST_F(ProxyForwarding, KeepAliveCarriesManyRequests) {
  HttpConnection c(port());
  for (int i = 0; i < 20; ++i) {
    auto r = c.request("GET", "/api/keepalive/" + std::to_string(i));
    ASSERT_TRUE(r.ok) << i << ": " << r;
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(contains(r.body, "/api/keepalive/" + std::to_string(i) + "\"")) << r.body;
    EXPECT_FALSE(r.has_header("Connection")) << "HTTP/1.1 keep-alive is implicit";
  }
}

TEST_F(ProxyForwarding, PipelinedRequestsAreAnsweredInOrder) {
  HttpConnection c(port());
  std::string batch;
  for (int i = 0; i < 8; ++i) {
    // Mix methods and bodies so a framing slip would show up as a wrong answer.
    if (i % 2 == 0) {
      batch += format_request(port(), "GET", "/api/pipe/" + std::to_string(i));
    } else {
      batch += format_request(port(), "POST", "/api/pipe/" + std::to_string(i), {},
                              "body-" + std::to_string(i));
    }
  }
  ASSERT_TRUE(c.send_raw(batch));
  for (int i = 0; i < 8; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r.ok) << i << ": " << r;
    EXPECT_TRUE(contains(r.body, "\"path\":\"/api/pipe/" + std::to_string(i) + "\"")) << r.body;
    if (i % 2 == 1) EXPECT_TRUE(contains(r.body, "\"body\":\"body-" + std::to_string(i))) << r.body;
  }
}

TEST_F(ProxyForwarding, AnAnswerLargerThanTheSocketBuffersArrivesWhole) {
  // 16 MiB is more than loopback's largest send buffer (tcp_wmem, 4 MiB by default) plus a
  // 64 KiB receive window: levee's first send is partial and the rest follows as the client
  // reads.
  HttpConnection c(port());
  const int window = 64 * 1024;
  ASSERT_EQ(::setsockopt(c.native_handle(), SOL_SOCKET, SO_RCVBUF, &window, sizeof window), 0);
  constexpr std::size_t k_pad = 16u * 1024 * 1024;
  auto r = c.request("GET", "/api/large?pad=" + std::to_string(k_pad));
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.status, 200);
  EXPECT_GT(r.body.size(), k_pad);
  EXPECT_TRUE(contains(r.body, "\"pad\":\"" + std::string(k_pad, 'p') + "\"}"))
      << "the padding arrived cut or changed";
  auto next = c.request("GET", "/api/after-large");
  ASSERT_TRUE(next.ok) << next;
  EXPECT_TRUE(contains(next.body, R"("path":"/api/after-large")")) << next.body;
}

TEST_F(ProxyForwarding, ChunkedRequestBodyIsDechunked) {
  HttpConnection c(port());
  std::string raw =
      "POST /api/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
  ASSERT_TRUE(c.send_raw(raw));
  auto r = c.read_response();
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(contains(r.body, R"("body":"hello, world")")) << r.body;
  EXPECT_FALSE(contains(r.body, "transfer-encoding")) << r.body;
  EXPECT_TRUE(contains(r.body, R"("content-length":"12")")) << r.body;
}

TEST_F(ProxyForwarding, ExpectContinueGetsInterimResponseThenAnswer) {
  HttpConnection c(port());
  ASSERT_TRUE(c.send_raw(
      "POST /api/expect HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  char buffer[64] = {};
  auto n = ::recv(c.native_handle(), buffer, sizeof(buffer) - 1, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(n)), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.send_raw("data"));
  auto r = c.read_response();
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(contains(r.body, R"("body":"data")")) << r.body;
  EXPECT_FALSE(contains(r.body, R"("expect":)")) << "Expect was answered by levee: " << r.body;
}

TEST_F(ProxyForwarding, ConnectionCloseIsHonoured) {
  HttpConnection c(port());
  auto r = c.request("GET", "/api/close-me", {{"Connection", "close"}});
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.header("Connection").value_or(""), "close");
  EXPECT_TRUE(c.closed_by_peer(std::chrono::seconds(5)));
}

TEST_F(ProxyForwarding, Http10WithoutHostIsServedAndClosed) {
  HttpConnection c(port());
  ASSERT_TRUE(c.send_raw("GET /api/old HTTP/1.0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.version, 10u);
  EXPECT_TRUE(c.closed_by_peer(std::chrono::seconds(5)));
}

TEST_F(ProxyForwarding, UpstreamConnectionCloseDoesNotBreakNextRequest) {
  // /close makes the upstream close its side after answering; the pool must not reuse it.
  HttpConnection c(port());
  for (int i = 0; i < 3; ++i) {
    auto closing = c.request("GET", "/close");
    ASSERT_TRUE(closing.ok) << closing;
    EXPECT_EQ(closing.status, 200);
    auto next = c.request("GET", "/api/after-close");
    ASSERT_TRUE(next.ok) << next;
    EXPECT_EQ(next.status, 200);
  }
}

}  // namespace
}  // namespace levee::testing
