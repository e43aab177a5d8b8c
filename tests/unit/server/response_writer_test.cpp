#include "server/response_writer.hpp"

#include <gtest/gtest.h>

namespace levee::server {
namespace {

TEST(ResponseWriter, FramesBodyWithContentLengthAndDropsUpstreamFraming) {
  auto r = core::Response::text(200, "hello");
  r.headers.add("Transfer-Encoding", "chunked");
  r.headers.add("Connection", "keep-alive");
  r.headers.add("Content-Length", "77");
  EXPECT_EQ(serialize_response_head(r, {}),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 6\r\n\r\n");
}

TEST(ResponseWriter, CloseAndHttp10KeepAlive) {
  auto r = core::Response::text(502, "upstream down");
  EXPECT_NE(serialize_response_head(r, {false, false, 11}).find("Connection: close\r\n"),
            std::string::npos);
  auto head10 = serialize_response_head(r, {false, true, 10});
  EXPECT_TRUE(head10.starts_with("HTTP/1.0 502 Bad Gateway\r\n"));
  EXPECT_NE(head10.find("Connection: keep-alive\r\n"), std::string::npos);
}

TEST(ResponseWriter, HeadKeepsUpstreamLengthOthersUseBodySize) {
  core::Response r;
  r.status = 200;
  r.headers.add("Content-Length", "1234");
  EXPECT_NE(serialize_response_head(r, {true, true, 11}).find("Content-Length: 1234\r\n"),
            std::string::npos);
  EXPECT_NE(serialize_response_head(r, {false, true, 11}).find("Content-Length: 0\r\n"),
            std::string::npos);
}

TEST(ResponseWriter, NoLengthOnBodilessStatuses) {
  for (int status : {204, 304}) {
    core::Response r;
    r.status = status;
    EXPECT_EQ(serialize_response_head(r, {}).find("Content-Length"), std::string::npos) << status;
  }
}

}  // namespace
}  // namespace levee::server
