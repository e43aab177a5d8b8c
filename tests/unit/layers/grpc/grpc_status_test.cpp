// gRPC as levee's refusals must look to a gRPC client (layers/grpc/grpc_status.hpp).

#include "layers/grpc/grpc_status.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace levee::layers::grpc {
namespace {

using namespace std::chrono_literals;

std::string field(const core::Response& response, std::string_view name) {
  const std::string* value = response.headers.find(name);
  return value != nullptr ? *value : std::string("<absent>");
}

TEST(GrpcTimeout, EveryUnitParses) {
  EXPECT_EQ(parse_grpc_timeout("1H"), 1h);
  EXPECT_EQ(parse_grpc_timeout("2M"), 2min);
  EXPECT_EQ(parse_grpc_timeout("3S"), 3s);
  EXPECT_EQ(parse_grpc_timeout("250m"), 250ms);
  EXPECT_EQ(parse_grpc_timeout("99999999u"), 99999999us);
  EXPECT_EQ(parse_grpc_timeout("7n"), 7ns);
}

TEST(GrpcTimeout, MalformedValuesAreIgnored) {
  EXPECT_FALSE(parse_grpc_timeout(""));
  EXPECT_FALSE(parse_grpc_timeout("m"));
  EXPECT_FALSE(parse_grpc_timeout("10"));
  EXPECT_FALSE(parse_grpc_timeout("10s"));         // units are case-sensitive
  EXPECT_FALSE(parse_grpc_timeout("123456789m"));  // at most 8 digits
  EXPECT_FALSE(parse_grpc_timeout("-5m"));
  EXPECT_FALSE(parse_grpc_timeout("5 m"));
}

TEST(GrpcRequest, TheContentTypeDecides) {
  core::Request request;
  EXPECT_FALSE(is_grpc_request(request));
  request.headers.set("content-type", "application/grpc");
  EXPECT_TRUE(is_grpc_request(request));
  request.headers.set("content-type", "application/grpc+proto");
  EXPECT_TRUE(is_grpc_request(request));
  request.headers.set("content-type", "Application/GRPC;charset=utf-8");
  EXPECT_TRUE(is_grpc_request(request));
  request.headers.set("content-type", "application/grpc-web");
  EXPECT_FALSE(is_grpc_request(request));
  request.headers.set("content-type", "application/json");
  EXPECT_FALSE(is_grpc_request(request));
}

TEST(GrpcMessage, NonPrintableBytesAndPercentArePercentEncoded) {
  EXPECT_EQ(percent_encode_message("plain text"), "plain text");
  EXPECT_EQ(percent_encode_message("100%\n"), "100%25%0A");
  EXPECT_EQ(percent_encode_message("caf\xc3\xa9"), "caf%C3%A9");
}

TEST(GrpcAnswer, AShedRequestIsResourceExhaustedWithPushback) {
  core::Response shed = core::Response::text(503, "route api: too many requests waiting");
  shed.shed = true;
  shed.headers.set("Retry-After", "2");
  const core::Response answer = to_grpc_answer(std::move(shed));
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(field(answer, "content-type"), "application/grpc");
  EXPECT_EQ(field(answer, "grpc-status"), "8");
  EXPECT_EQ(field(answer, "grpc-message"), "route api: too many requests waiting");
  EXPECT_EQ(field(answer, "grpc-retry-pushback-ms"), "2000");
  EXPECT_TRUE(answer.shed);
  EXPECT_EQ(answer.body_size(), 0u);
}

TEST(GrpcAnswer, AnOpenBreakerIsUnavailable) {
  core::Response refused = core::Response::text(503, "upstream legacy circuit open");
  refused.breaker_open = true;
  refused.headers.set("Retry-After", "5");
  const core::Response answer = to_grpc_answer(std::move(refused));
  EXPECT_EQ(field(answer, "grpc-status"), "14");
  EXPECT_EQ(field(answer, "grpc-retry-pushback-ms"), "5000");
  EXPECT_TRUE(answer.breaker_open);
}

TEST(GrpcAnswer, AnUpstreamTimeoutIsDeadlineExceededAndAResetIsUnavailable) {
  core::Response timeout = core::Response::text(504, "upstream timed out");
  timeout.upstream_failed = true;
  EXPECT_EQ(field(to_grpc_answer(std::move(timeout)), "grpc-status"), "4");
  core::Response reset = core::Response::text(502, "upstream reset the connection");
  reset.upstream_failed = true;
  EXPECT_EQ(field(to_grpc_answer(std::move(reset)), "grpc-status"), "14");
}

TEST(GrpcAnswer, OtherHttpStatusesFollowGrpcsMapping) {
  EXPECT_EQ(field(to_grpc_answer(core::Response::text(401, "no")), "grpc-status"), "16");
  EXPECT_EQ(field(to_grpc_answer(core::Response::text(403, "no")), "grpc-status"), "7");
  EXPECT_EQ(field(to_grpc_answer(core::Response::text(404, "no")), "grpc-status"), "12");
  EXPECT_EQ(field(to_grpc_answer(core::Response::text(413, "big")), "grpc-status"), "8");
  EXPECT_EQ(field(to_grpc_answer(core::Response::text(500, "x")), "grpc-status"), "2");
}

TEST(GrpcAnswer, AnAnswerThatSpeaksGrpcIsLeftAlone) {
  core::Response upstream;
  upstream.status = 200;
  upstream.headers.set("content-type", "application/grpc");
  upstream.trailers.set("grpc-status", "5");
  upstream.trailers.set("grpc-message", "not found");
  const core::Response answer = to_grpc_answer(upstream);
  EXPECT_EQ(field(answer, "grpc-status"), "<absent>");
  ASSERT_NE(answer.trailers.find("grpc-status"), nullptr);
  EXPECT_EQ(*answer.trailers.find("grpc-status"), "5");
}

}  // namespace
}  // namespace levee::layers::grpc
