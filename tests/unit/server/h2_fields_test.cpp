// The field mapping between levee's messages and HTTP/2 header blocks (server/h2_fields.hpp).

#include "server/h2_fields.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace levee::server {
namespace {

std::multimap<std::string, std::string> as_map(const H2FieldBlock& block) {
  std::multimap<std::string, std::string> out;
  for (std::size_t i = 0; i < block.size(); ++i) {
    out.emplace(std::string(block.name(i)), std::string(block.value(i)));
    // What nghttp2 is handed points at the same bytes.
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(block.data()[i].name),
                               block.data()[i].namelen),
              block.name(i));
  }
  return out;
}

TEST(H2ServerRequestFields, PseudoHeadersBecomeTheRequestAndAuthorityTheHost) {
  H2RequestFields fields(16 * 1024);
  fields.add(":method", "POST");
  fields.add(":scheme", "http");
  fields.add(":authority", "api.example:8080");
  fields.add(":path", "/svc.Echo/Unary?x=1");
  fields.add("content-type", "application/grpc");
  fields.add("te", "trailers");
  core::Request request;
  fields.finish(request);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/svc.Echo/Unary?x=1");
  EXPECT_EQ(request.version, 11u);
  ASSERT_NE(request.headers.find("host"), nullptr);
  EXPECT_EQ(*request.headers.find("host"), "api.example:8080");
  EXPECT_EQ(request.path(), "/svc.Echo/Unary");
  EXPECT_FALSE(request.headers.contains(":path"));
  EXPECT_TRUE(request.headers.contains("te"));
}

TEST(H2ServerRequestFields, AHostFieldWinsOverTheAuthority) {
  H2RequestFields fields(16 * 1024);
  fields.add(":authority", "a.example");
  fields.add("host", "b.example");
  core::Request request;
  fields.finish(request);
  EXPECT_EQ(request.headers.size(), 1u);
  EXPECT_EQ(*request.headers.find("host"), "b.example");
}

TEST(H2ServerRequestFields, ABlockOverTheLimitIsFlaggedAndStopsGrowing) {
  H2RequestFields fields(100);
  fields.add(":method", "GET");               // 7 + 3 + 32 = 42
  fields.add("x-big", std::string(40, 'a'));  // 42 + 77 > 100
  EXPECT_TRUE(fields.over_limit());
  fields.add("x-more", "b");
  core::Request request;
  fields.finish(request);
  EXPECT_FALSE(request.headers.contains("x-more"));
}

TEST(H2FieldBlock, TheResponseHeadLowerCasesAndDropsConnectionFields) {
  core::Response response;
  response.status = 503;
  response.headers.add("Content-Type", "text/plain");
  response.headers.add("Connection", "close");
  response.headers.add("Keep-Alive", "timeout=5");
  response.headers.add("Transfer-Encoding", "chunked");
  response.headers.add("Content-Length", "999");
  response.headers.add("Retry-After", "1");
  const std::size_t length = 12;
  const auto fields = as_map(H2FieldBlock::response(response, &length));
  EXPECT_EQ(fields.count(":status"), 1u);
  EXPECT_EQ(fields.find(":status")->second, "503");
  EXPECT_EQ(fields.find("content-type")->second, "text/plain");
  EXPECT_EQ(fields.find("retry-after")->second, "1");
  EXPECT_EQ(fields.find("content-length")->second, "12");  // the body's, not the header's
  EXPECT_EQ(fields.count("connection"), 0u);
  EXPECT_EQ(fields.count("keep-alive"), 0u);
  EXPECT_EQ(fields.count("transfer-encoding"), 0u);
  EXPECT_EQ(fields.count("content-length"), 1u);
}

TEST(H2FieldBlock, AHeadAnswerKeepsItsLengthAndAnEmptyBodyHasNone) {
  core::Response response;
  response.headers.add("Content-Length", "5");
  const auto head = as_map(H2FieldBlock::response(response, nullptr));
  EXPECT_EQ(head.find("content-length")->second, "5");
  const std::size_t empty = 0;
  const auto fields = as_map(H2FieldBlock::response(response, &empty));
  EXPECT_EQ(fields.count("content-length"), 0u);
}

TEST(H2FieldBlock, TrailersKeepGrpcStatusAndDropWhatNoTrailerMayCarry) {
  core::Headers trailers;
  trailers.add("grpc-status", "0");
  trailers.add("Grpc-Message", "ok");
  trailers.add("Content-Length", "1");
  trailers.add("Host", "evil");
  const auto fields = as_map(H2FieldBlock::trailers(trailers));
  EXPECT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields.find("grpc-status")->second, "0");
  EXPECT_EQ(fields.find("grpc-message")->second, "ok");
}

}  // namespace
}  // namespace levee::server
