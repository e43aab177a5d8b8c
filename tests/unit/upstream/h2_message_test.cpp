// The h2 upstream path's mapping: request fields (pseudo-headers, lower-case names, hop-by-hop
// fields removed but te: trailers kept, forwarding fields) and the answer's assembly (interim
// answers dropped, pseudo-headers refused where they do not belong, trailers apart, the body
// bounded).

#include "upstream/h2_message.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace levee::upstream {
namespace {

using Fields = std::vector<core::Header>;

const std::string* value_of(const Fields& fields, std::string_view name) {
  auto it = std::find_if(fields.begin(), fields.end(),
                         [&](const core::Header& h) { return h.name == name; });
  return it == fields.end() ? nullptr : &it->value;
}

core::Request request_with(std::vector<core::Header> headers, std::string body = {}) {
  core::Request request;
  request.method = body.empty() ? "GET" : "POST";
  request.target = "/pkg.Service/Method?x=1";
  for (auto& h : headers) request.headers.add(h.name, h.value);
  request.body = std::move(body);
  request.client_address = "10.0.0.7";
  return request;
}

TEST(H2RequestFields, PseudoHeadersComeFirstInOrder) {
  auto request = request_with({{"Host", "api.example:8443"}});
  const Fields fields = h2_request_fields(request, "https", "10.1.1.1:443");
  ASSERT_GE(fields.size(), 4u);
  EXPECT_EQ(fields[0].name, ":method");
  EXPECT_EQ(fields[0].value, "GET");
  EXPECT_EQ(fields[1].name, ":scheme");
  EXPECT_EQ(fields[1].value, "https");
  EXPECT_EQ(fields[2].name, ":authority");
  EXPECT_EQ(fields[2].value, "api.example:8443");
  EXPECT_EQ(fields[3].name, ":path");
  EXPECT_EQ(fields[3].value, "/pkg.Service/Method?x=1");
  EXPECT_EQ(value_of(fields, "host"), nullptr);
}

TEST(H2RequestFields, WithoutHostTheAuthorityIsTheUpstreamAddress) {
  auto request = request_with({});
  const Fields fields = h2_request_fields(request, "http", "127.0.0.1:9000");
  EXPECT_EQ(*value_of(fields, ":authority"), "127.0.0.1:9000");
  EXPECT_EQ(*value_of(fields, ":scheme"), "http");
}

TEST(H2RequestFields, NamesAreLowerCasedAndHopByHopFieldsRemoved) {
  auto request = request_with({{"Content-Type", "application/grpc"},
                               {"Connection", "keep-alive, X-Hop"},
                               {"X-Hop", "1"},
                               {"Keep-Alive", "timeout=5"},
                               {"Transfer-Encoding", "chunked"},
                               {"Upgrade", "h2c"},
                               {"Expect", "100-continue"},
                               {"Content-Length", "999"}});
  const Fields fields = h2_request_fields(request, "http", "u:1");
  EXPECT_EQ(*value_of(fields, "content-type"), "application/grpc");
  for (const char* gone : {"connection", "x-hop", "keep-alive", "transfer-encoding", "upgrade",
                           "expect", "content-length", "te"}) {
    EXPECT_EQ(value_of(fields, gone), nullptr) << gone;
  }
  for (const auto& field : fields) {
    EXPECT_FALSE(std::any_of(field.name.begin(), field.name.end(), [](char c) {
      return c >= 'A' && c <= 'Z';
    })) << field.name;
  }
}

TEST(H2RequestFields, TeTrailersIsKeptAndOtherCodingsAreNot) {
  auto grpc = request_with({{"TE", "trailers"}});
  EXPECT_EQ(*value_of(h2_request_fields(grpc, "http", "u:1"), "te"), "trailers");
  auto listed = request_with({{"TE", "gzip;q=0.5, trailers"}});
  EXPECT_EQ(*value_of(h2_request_fields(listed, "http", "u:1"), "te"), "trailers");
  auto other = request_with({{"TE", "gzip"}});
  EXPECT_EQ(value_of(h2_request_fields(other, "http", "u:1"), "te"), nullptr);
}

TEST(H2RequestFields, ForwardingFieldsAreAddedAsOnTheHttp1Path) {
  auto request = request_with({{"X-Forwarded-For", "192.0.2.1"}});
  const Fields fields = h2_request_fields(request, "http", "u:1");
  EXPECT_EQ(*value_of(fields, "x-forwarded-for"), "192.0.2.1, 10.0.0.7");
  EXPECT_EQ(*value_of(fields, "x-forwarded-proto"), "http");
  EXPECT_EQ(*value_of(fields, "via"), "1.1 levee");
}

TEST(H2RequestFields, ABodyCarriesItsLength) {
  auto request = request_with({}, "12345");
  EXPECT_EQ(*value_of(h2_request_fields(request, "http", "u:1"), "content-length"), "5");
  auto get = request_with({});
  EXPECT_EQ(value_of(h2_request_fields(get, "http", "u:1"), "content-length"), nullptr);
}

TEST(H2ResponseAssembler, HeadersBodyAndTrailersLandApart) {
  H2ResponseAssembler answer(1024);
  answer.begin_block();
  ASSERT_TRUE(answer.field(":status", "200"));
  ASSERT_TRUE(answer.field("content-type", "application/grpc"));
  ASSERT_TRUE(answer.field("content-length", "5"));
  ASSERT_TRUE(answer.end_block());
  ASSERT_TRUE(answer.data("hel"));
  ASSERT_TRUE(answer.data("lo"));
  answer.begin_block();
  ASSERT_TRUE(answer.field("grpc-status", "0"));
  ASSERT_TRUE(answer.field("grpc-message", "ok"));
  ASSERT_TRUE(answer.end_block());
  const core::Response response = answer.take(false);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body_view(), "hello");
  EXPECT_EQ(*response.headers.find("content-type"), "application/grpc");
  EXPECT_EQ(response.headers.find("content-length"), nullptr);
  EXPECT_EQ(*response.headers.find("via"), "2 levee");
  EXPECT_EQ(response.headers.find(":status"), nullptr);
  EXPECT_EQ(*response.trailers.find("grpc-status"), "0");
  EXPECT_EQ(*response.trailers.find("grpc-message"), "ok");
  EXPECT_EQ(response.headers.find("grpc-status"), nullptr);
}

TEST(H2ResponseAssembler, InterimAnswersAreDropped) {
  H2ResponseAssembler answer(1024);
  answer.begin_block();
  ASSERT_TRUE(answer.field(":status", "103"));
  ASSERT_TRUE(answer.field("link", "</style.css>"));
  ASSERT_TRUE(answer.end_block());
  EXPECT_FALSE(answer.has_final_head());
  answer.begin_block();
  ASSERT_TRUE(answer.field(":status", "204"));
  ASSERT_TRUE(answer.end_block());
  EXPECT_TRUE(answer.has_final_head());
  const core::Response response = answer.take(false);
  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(response.headers.find("link"), nullptr);
  EXPECT_TRUE(response.trailers.empty());
}

TEST(H2ResponseAssembler, BadOrMisplacedPseudoHeadersAreRefused) {
  H2ResponseAssembler bad_status(1024);
  bad_status.begin_block();
  EXPECT_FALSE(bad_status.field(":status", "2000"));
  H2ResponseAssembler no_status(1024);
  no_status.begin_block();
  ASSERT_TRUE(no_status.field("x", "y"));
  EXPECT_FALSE(no_status.end_block());
  H2ResponseAssembler pseudo_trailer(1024);
  pseudo_trailer.begin_block();
  ASSERT_TRUE(pseudo_trailer.field(":status", "200"));
  ASSERT_TRUE(pseudo_trailer.end_block());
  pseudo_trailer.begin_block();
  EXPECT_FALSE(pseudo_trailer.field(":status", "200"));
}

TEST(H2ResponseAssembler, ABodyOverTheLimitIsRefused) {
  H2ResponseAssembler answer(4);
  answer.begin_block();
  ASSERT_TRUE(answer.field(":status", "200"));
  ASSERT_TRUE(answer.end_block());
  EXPECT_TRUE(answer.data("1234"));
  EXPECT_FALSE(answer.data("5"));
}

TEST(H2ResponseAssembler, AHeadAnswerKeepsItsLength) {
  H2ResponseAssembler answer(1024);
  answer.begin_block();
  ASSERT_TRUE(answer.field(":status", "200"));
  ASSERT_TRUE(answer.field("content-length", "42"));
  ASSERT_TRUE(answer.end_block());
  EXPECT_EQ(*answer.take(true).headers.find("content-length"), "42");
}

}  // namespace
}  // namespace levee::upstream
