// The request parser keeps a chunked request's trailer section apart from its header
// section (issue 16.2): before, "0\r\nHost: evil\r\n\r\n" after the last chunk reached the
// upstream as "Host: t, evil", past the duplicate-Host check.

#include "server/request_parser.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <string>
#include <string_view>

#include "server/request_checks.hpp"

namespace levee::server {
namespace {

namespace http = boost::beast::http;

// Feeds the whole message at once; returns the parse error (none when complete).
boost::system::error_code parse(RequestParser& parser, std::string_view message) {
  parser.eager(true);
  boost::system::error_code ec;
  std::size_t used = 0;
  while (used < message.size() && !parser.is_done()) {
    const std::size_t n =
        parser.put(boost::asio::buffer(message.data() + used, message.size() - used), ec);
    if (ec) return ec;
    used += n;
  }
  return ec;
}

std::size_t count(const core::Headers& headers, std::string_view name) {
  std::size_t n = 0;
  for (const auto& h : headers) n += core::iequals(h.name, name) ? 1 : 0;
  return n;
}

TEST(RequestParserTrailers, TrailerHostNeverJoinsTheHeaderSection) {
  RequestParser parser;
  ASSERT_FALSE(parse(parser,
                     "POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n0\r\nHost: evil\r\n\r\n"));
  ASSERT_TRUE(parser.is_done());
  EXPECT_EQ(parser.host_fields(), 1u);
  EXPECT_EQ(check_header(parser).status, 0);
  const auto& headers = parser.request().headers;
  EXPECT_EQ(count(headers, "Host"), 1u);
  EXPECT_EQ(*headers.find("Host"), "t");
  EXPECT_EQ(parser.request().body, "hello");
  ASSERT_EQ(parser.trailers().size(), 1u);
  EXPECT_EQ(parser.trailers().begin()->name, "Host");
  EXPECT_EQ(parser.trailers().begin()->value, "evil");
}

TEST(RequestParserTrailers, CredentialsAndForwardingTrailersStayTrailers) {
  RequestParser parser;
  ASSERT_FALSE(parse(parser,
                     "POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n0\r\nAuthorization: Bearer x\r\nX-Forwarded-For: 10.0.0.1"
                     "\r\n\r\n"));
  EXPECT_FALSE(parser.request().headers.contains("Authorization"));
  EXPECT_FALSE(parser.request().headers.contains("X-Forwarded-For"));
  EXPECT_EQ(parser.trailers().size(), 2u);
}

TEST(RequestParserTrailers, ANonChunkedRequestHasNoTrailers) {
  RequestParser parser;
  ASSERT_FALSE(parse(parser, "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi"));
  EXPECT_TRUE(parser.trailers().empty());
  EXPECT_EQ(parser.request().headers.size(), 2u);
}

TEST(RequestParserTrailers, TrailerSectionIsBounded) {
  RequestParser parser;
  parser.trailer_limit(64);
  const std::string big(100, 'a');
  const auto ec = parse(parser,
                        "POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "0\r\nX-Big: " +
                            big + "\r\n\r\n");
  EXPECT_EQ(ec, http::error::header_limit);
}

}  // namespace
}  // namespace levee::server
