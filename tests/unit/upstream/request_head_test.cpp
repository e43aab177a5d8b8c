#include <gtest/gtest.h>

#include "upstream/upstream_client.hpp"

namespace levee::upstream {
namespace {

TEST(RequestHead, SerialisesRequestLineHeadersAndLength) {
  core::Request r;
  r.method = "POST";
  r.target = "/process?x=1";
  r.headers.add("Host", "svc");
  r.headers.add("Content-Type", "application/json");
  r.headers.add("Content-Length", "999");   // stale: recomputed from the body
  r.headers.add("Expect", "100-continue");  // answered by levee already
  r.body = R"({"id":1})";
  EXPECT_EQ(serialize_request_head(r, "127.0.0.1:9000"),
            "POST /process?x=1 HTTP/1.1\r\nHost: svc\r\nContent-Type: application/json\r\n"
            "Content-Length: 8\r\n\r\n");
}

TEST(RequestHead, AddsHostForHttp10ClientsAndNoLengthForBodilessGet) {
  core::Request r;
  r.method = "GET";
  r.target = "/";
  r.version = 10;
  EXPECT_EQ(serialize_request_head(r, "127.0.0.1:9000"),
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n\r\n");
}

TEST(RequestHead, EmptyPostStillCarriesZeroLength) {
  core::Request r;
  r.method = "POST";
  r.target = "/p";
  r.headers.add("Host", "h");
  EXPECT_EQ(serialize_request_head(r, "x"),
            "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
}

TEST(RequestHead, TrailersMakeTheRequestChunkedWithTheBodyAsOneChunk) {
  core::Request r;
  r.method = "POST";
  r.target = "/p";
  r.headers.add("Host", "h");
  r.body = "hello";
  r.trailers.add("X-Checksum", "5d41");
  EXPECT_EQ(serialize_request_head(r, "x"),
            "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n");
  EXPECT_EQ(serialize_request_tail(r), "\r\n0\r\nX-Checksum: 5d41\r\n\r\n");
}

TEST(RequestHead, TrailersAfterAnEmptyBodyNeedOnlyTheLastChunk) {
  core::Request r;
  r.method = "POST";
  r.target = "/p";
  r.headers.add("Host", "h");
  r.trailers.add("X-Done", "1");
  EXPECT_EQ(serialize_request_head(r, "x"),
            "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(serialize_request_tail(r), "0\r\nX-Done: 1\r\n\r\n");
}

TEST(RequestHead, NoTrailersNoTail) {
  core::Request r;
  r.method = "POST";
  r.target = "/p";
  r.body = "x";
  EXPECT_EQ(serialize_request_tail(r), "");
}

}  // namespace
}  // namespace levee::upstream
