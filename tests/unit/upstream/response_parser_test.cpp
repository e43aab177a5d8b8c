// An upstream's trailer section never joins the response's header fields (issue 16.2, the
// response direction): a trailing Set-Cookie or Content-Type must not reach the client as
// a header of the response levee frames itself.

#include "upstream/response_parser.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <string_view>

namespace levee::upstream {
namespace {

TEST(ResponseParserTrailers, UpstreamTrailersStayOutOfTheHeaders) {
  ResponseParser parser;
  parser.eager(true);
  constexpr std::string_view k_response =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\nSet-Cookie: session=stolen\r\nContent-Type: text/html\r\n\r\n";
  boost::system::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(k_response), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(used, k_response.size());
  ASSERT_TRUE(parser.is_done());
  EXPECT_EQ(parser.trailers().size(), 2u);
  const core::Response response = parser.take();
  EXPECT_FALSE(response.headers.contains("Set-Cookie"));
  ASSERT_NE(response.headers.find("Content-Type"), nullptr);
  EXPECT_EQ(*response.headers.find("Content-Type"), "text/plain");
  ASSERT_NE(response.body, nullptr);
  EXPECT_EQ(*response.body, "hello");
}

}  // namespace
}  // namespace levee::upstream
