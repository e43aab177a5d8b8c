// Issue 16.2: a chunked request's trailer fields never become header fields. Before the fix,
// "0\r\nHost: evil\r\n\r\n" after the last chunk reached the upstream as "Host: t, evil"
// (two Host headers in the header section get a 400), and Authorization or X-Forwarded-For
// sent as trailers were forwarded as headers the same way. Trailers are dropped unless the
// route sets forward_trailers, and then go upstream as trailers, less the fields that must
// never be trailers. The upstream is Python's http.server, which reports what it received.

#include <gtest/gtest.h>

#include <string>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/python_peer.hpp"

namespace levee::testing {
namespace {

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

class Trailers : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    peer_ = new PythonHttpPeer();
    LeveeOptions options;
    options.upstream_address = peer_->address();
    options.routes =
        "[[routes]]\nname = \"forwarding\"\npath_prefix = \"/fwd\"\nupstream = \"legacy\"\n"
        "forward_trailers = true\n"
        "[[routes]]\nname = \"plain\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n";
    stack_ = new Stack(options);
  }
  static void TearDownTestSuite() {
    delete stack_;
    delete peer_;
    stack_ = nullptr;
    peer_ = nullptr;
  }

  // Sends `raw` on a fresh connection and returns the peer's JSON echo.
  static HttpResult send(const std::string& raw) {
    HttpConnection connection(stack_->port());
    EXPECT_TRUE(connection.send_raw(raw));
    return connection.read_response();
  }

  static PythonHttpPeer* peer_;
  static Stack* stack_;
};
PythonHttpPeer* Trailers::peer_ = nullptr;
Stack* Trailers::stack_ = nullptr;

TEST_F(Trailers, TrailerHostDoesNotReachTheUpstreamAsAHeader) {
  const auto r = send(
      "POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\nHost: evil\r\n\r\n");
  ASSERT_TRUE(r.ok) << r;
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(contains(r.body, R"(["Host", "t"])")) << r.body;
  EXPECT_FALSE(contains(r.body, "evil")) << r.body;
  EXPECT_TRUE(contains(r.body, R"("body": "hello")")) << r.body;
  EXPECT_TRUE(contains(r.body, R"("trailers": [])")) << r.body;
}

TEST_F(Trailers, CredentialAndForwardingTrailersAreDropped) {
  const auto r = send(
      "POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\nAuthorization: Bearer stolen\r\nX-Forwarded-For: 10.9.9.9\r\n"
      "X-Checksum: 5d41\r\n\r\n");
  ASSERT_TRUE(r.ok) << r;
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(contains(r.body, "Authorization")) << r.body;
  EXPECT_FALSE(contains(r.body, "stolen")) << r.body;
  EXPECT_FALSE(contains(r.body, "10.9.9.9")) << r.body;
  EXPECT_FALSE(contains(r.body, "X-Checksum")) << r.body;
  EXPECT_TRUE(contains(r.body, R"(["X-Forwarded-For", "127.0.0.1"])")) << r.body;
}

TEST_F(Trailers, AForwardingRouteSendsTrailersAsTrailersButNeverForbiddenOnes) {
  const auto r = send(
      "POST /fwd HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\nHost: evil\r\nAuthorization: Bearer stolen\r\n"
      "X-Checksum: 5d41\r\n\r\n");
  ASSERT_TRUE(r.ok) << r;
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(contains(r.body, R"("trailers": [["X-Checksum", "5d41"]])")) << r.body;
  EXPECT_TRUE(contains(r.body, R"(["Host", "t"])")) << r.body;
  EXPECT_TRUE(contains(r.body, R"(["Transfer-Encoding", "chunked"])")) << r.body;
  EXPECT_TRUE(contains(r.body, R"("body": "hello")")) << r.body;
  EXPECT_FALSE(contains(r.body, "evil")) << r.body;
  EXPECT_FALSE(contains(r.body, "stolen")) << r.body;
}

TEST_F(Trailers, AForwardingRouteWithoutTrailersSendsAContentLength) {
  const auto r = send(
      "POST /fwd HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n");
  ASSERT_TRUE(r.ok) << r;
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(contains(r.body, R"(["Content-Length", "5"])")) << r.body;
  EXPECT_FALSE(contains(r.body, "chunked")) << r.body;
}

TEST_F(Trailers, AnOversizedTrailerSectionGets431) {
  const std::string big(20 * 1024, 'a');
  const auto r = send(
      "POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\nX-Big: " +
      big + "\r\n\r\n");
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.status, 431) << r.body;
}

}  // namespace
}  // namespace levee::testing
