// GrpcService against a fake inner service: grpc-timeout is each caller's deadline, and on a
// collapse route it is not sent upstream, where one member's deadline would end a shared call.

#include "layers/grpc/grpc_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>

#include "admin/metrics.hpp"
#include "common/fake_service.hpp"

namespace levee::layers::grpc {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::FakeService;
using test::spawn_call;

core::Request grpc_call(std::string_view timeout) {
  core::Request request = test::make_request("POST", "/pkg.Echo/Unary");
  request.headers.add("content-type", "application/grpc");
  if (!timeout.empty()) request.headers.add("grpc-timeout", timeout);
  return request;
}

std::string sent_timeout(const FakeService& inner) {
  const std::string* value = inner.last().headers.find("grpc-timeout");
  return value != nullptr ? *value : std::string("<absent>");
}

struct Fixture {
  explicit Fixture(bool shares_upstream_calls)
      : service(inner, GrpcRules{GrpcMetrics{&deadline_exceeded, &mapped}, shares_upstream_calls}) {
  }
  asio::io_context io;
  admin::Counter deadline_exceeded;
  admin::Counter mapped;
  FakeService inner;
  GrpcService<FakeService> service;
};

TEST(GrpcService, APassRouteSendsTheCallersDeadlineUpstream) {
  Fixture f(false);
  auto call = spawn_call(f.io, f.service, grpc_call("250m"));
  test::run_until_done(f.io, *call);
  ASSERT_EQ(f.inner.calls(), 1u);
  EXPECT_EQ(sent_timeout(f.inner), "250m");
}

TEST(GrpcService, ACollapseRouteKeepsTheLeadersDeadlineFromTheSharedCall) {
  Fixture f(true);
  auto call = spawn_call(f.io, f.service, grpc_call("250m"));
  test::run_until_done(f.io, *call);
  ASSERT_EQ(f.inner.calls(), 1u);
  EXPECT_EQ(sent_timeout(f.inner), "<absent>");
  EXPECT_EQ(call->status(), 200);
}

TEST(GrpcService, TheCallersDeadlineStillEndsItsCallOnACollapseRoute) {
  Fixture f(true);
  f.inner.hold();
  auto call = spawn_call(f.io, f.service, grpc_call("20m"));
  test::run_until_done(f.io, *call);
  ASSERT_TRUE(call->response);
  const std::string* status = call->response->headers.find("grpc-status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(*status, "4");  // DEADLINE_EXCEEDED
  EXPECT_EQ(f.deadline_exceeded.value(), 1u);
  EXPECT_EQ(sent_timeout(f.inner), "<absent>");
}

}  // namespace
}  // namespace levee::layers::grpc
