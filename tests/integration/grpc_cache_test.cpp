// Issue 20, "Cache": gRPC unary answers in the response cache, end to end between a real gRPC
// client and a real gRPC server (grpcio, tests/peers/grpc_peer.py and grpc_client.py), levee in
// between speaking h2c on both sides. On a grpc route with [routes.cache], identical calls
// after the first are answered from the cache with the stored message and trailers; another
// message or another authorization is another call; an error status is never stored; a grpc
// route without [routes.cache] stores nothing; two levee instances share entries through Redis.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "levee_fixture.hpp"
#include "support/grpc_peers.hpp"
#include "support/polling.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view k_cache_table = "[routes.cache]\nttl = \"60s\"\n";

// One collapse route for the Echo service, gRPC; `cache`: its [routes.cache] table, if any.
// `top`: tables before the routes ([cache]).
LeveeOptions grpc_options(const GrpcPeer& peer, std::string_view cache, std::string top = {}) {
  LeveeOptions options;
  options.upstream_address = peer.address();
  options.upstream_extra = "protocol = \"h2c\"\n";
  options.routes = top +
                   "[[routes]]\nname = \"echo\"\npath_prefix = \"/levee.test.Echo/\"\n"
                   "upstream = \"legacy\"\nmode = \"collapse\"\ngrpc = true\n" +
                   std::string(cache);
  return options;
}

// One call at a time, so that each finds what the previous one stored.
GrpcClientOptions sequential(std::uint16_t port, int calls, std::string request) {
  GrpcClientOptions client;
  client.target = "127.0.0.1:" + std::to_string(port);
  client.calls = calls;
  client.concurrency = 1;
  client.request = std::move(request);
  return client;
}

std::uint64_t cache_metric(const Stack& stack, std::string_view name, std::string labels = {}) {
  return metric_value(stack.admin_port(), std::string(name) + "{route=\"echo\"" + labels + "}");
}

std::uint64_t lookups(const Stack& stack, std::string_view result) {
  return cache_metric(stack, "levee_cache_lookups_total",
                      ",result=\"" + std::string(result) + "\"");
}

class GrpcCache : public ::testing::Test {
 protected:
  GrpcPeer peer_;
};

TEST_F(GrpcCache, TenIdenticalCallsReachTheServerOnce) {
  Stack stack(grpc_options(peer_, k_cache_table));
  GrpcClientOptions client = sequential(stack.port(), 10, "same-question");
  client.authorization = "Bearer alice";
  const GrpcClientReport report = run_grpc_client(client);
  ASSERT_EQ(report.ok, 10u) << report.json;
  const std::string first = report.calls.at(0).body.value_or("");
  EXPECT_NE(first.find("same-question|Bearer alice|call=1"), std::string::npos) << first;
  for (const auto& call : report.calls) {
    EXPECT_EQ(call.body.value_or(""), first) << "call " << call.index;
    EXPECT_EQ(call.trailing("x-served-by").value_or(""), "grpc_peer") << "call " << call.index;
    EXPECT_EQ(call.initial("x-levee-cache").value_or(""), call.index == 0 ? "miss" : "hit")
        << "call " << call.index << ": " << report.json;
    EXPECT_EQ(call.initial("x-call").value_or(""), "1") << "the server's initial metadata";
  }
  EXPECT_EQ(peer_.stats().unary_calls, 1u);
  EXPECT_EQ(lookups(stack, "miss"), 1u);
  EXPECT_EQ(lookups(stack, "hit"), 9u);
  EXPECT_EQ(cache_metric(stack, "levee_cache_stores_total"), 1u);
}

TEST_F(GrpcCache, AnotherMessageOrAnotherCredentialIsAnotherCall) {
  Stack stack(grpc_options(peer_, k_cache_table));
  const GrpcClientReport one = run_grpc_client(sequential(stack.port(), 3, "first"));
  ASSERT_EQ(one.ok, 3u) << one.json;
  const GrpcClientReport two = run_grpc_client(sequential(stack.port(), 3, "second"));
  ASSERT_EQ(two.ok, 3u) << two.json;
  EXPECT_NE(two.calls.at(0).body.value_or("").find("second|"), std::string::npos) << two.json;
  EXPECT_EQ(peer_.stats().unary_calls, 2u);

  GrpcClientOptions bob = sequential(stack.port(), 3, "first");
  bob.authorization = "Bearer bob";
  const GrpcClientReport three = run_grpc_client(bob);
  ASSERT_EQ(three.ok, 3u) << three.json;
  for (const auto& call : three.calls) {
    EXPECT_NE(call.body.value_or("").find("first|Bearer bob|"), std::string::npos) << three.json;
  }
  const GrpcPeerStats stats = peer_.stats();
  EXPECT_EQ(stats.unary_calls, 3u);
  EXPECT_EQ(stats.authorizations.at("Bearer bob"), 1u);
  EXPECT_EQ(cache_metric(stack, "levee_cache_stores_total"), 3u);
}

TEST_F(GrpcCache, AnErrorStatusIsNotCached) {
  Stack stack(grpc_options(peer_, k_cache_table));
  GrpcClientOptions client = sequential(stack.port(), 5, "missing");
  client.metadata = {{"x-fail-code", "NOT_FOUND"}, {"x-fail-message", "no such thing"}};
  const GrpcClientReport report = run_grpc_client(client);
  ASSERT_EQ(report.calls.size(), 5u) << report.json;
  for (const auto& call : report.calls) {
    EXPECT_EQ(call.code, "NOT_FOUND") << report.json;
    EXPECT_EQ(call.details, "no such thing");
    EXPECT_EQ(call.trailing("x-detail").value_or(""),
              "failed-call-" + std::to_string(call.index + 1))
        << "every call reached the server: " << report.json;
  }
  EXPECT_EQ(peer_.stats().failed_calls, 5u);
  EXPECT_EQ(cache_metric(stack, "levee_cache_stores_total"), 0u);
  EXPECT_EQ(cache_metric(stack, "levee_cache_not_stored_total"), 5u);
}

TEST_F(GrpcCache, AGrpcRouteWithoutACacheTableCachesNothing) {
  Stack stack(grpc_options(peer_, {}));
  const GrpcClientReport report = run_grpc_client(sequential(stack.port(), 5, "same-question"));
  ASSERT_EQ(report.ok, 5u) << report.json;
  for (const auto& call : report.calls) {
    EXPECT_FALSE(call.initial("x-levee-cache").has_value()) << report.json;
    EXPECT_NE(call.body.value_or("").find("call=" + std::to_string(call.index + 1)),
              std::string::npos)
        << report.json;
  }
  EXPECT_EQ(peer_.stats().unary_calls, 5u);
}

// Two instances in front of one gRPC server share one redis-server: the second answers from
// the entry the first stored, trailers included.
TEST_F(GrpcCache, TwoInstancesShareAnswersThroughRedis) {
  RedisServer redis(unused_port());
  const LeveeOptions options =
      grpc_options(peer_, k_cache_table,
                   "[cache]\nredis = \"127.0.0.1:" + std::to_string(redis.port()) +
                       "\"\nredis_timeout = \"200ms\"\n");
  Stack first(options);
  LeveeProcess second(
      write_file(first.dir.path() / "second.toml", make_config(options, peer_.address())));

  // Both instances answer one public name, as they would behind one load balancer: the
  // authority is part of the key.
  const auto call = [](std::uint16_t port, int calls) {
    GrpcClientOptions client = sequential(port, calls, "shared-question");
    client.extra_args = {"--authority", "echo.example"};
    return run_grpc_client(client);
  };
  const GrpcClientReport miss = call(first.port(), 1);
  ASSERT_EQ(miss.ok, 1u) << miss.json;
  EXPECT_EQ(miss.calls.at(0).initial("x-levee-cache").value_or(""), "miss") << miss.json;
  // The store into Redis is written in the background of the answer: wait until the second
  // instance finds it (a miss there would reach the server and fail the count below).
  ASSERT_TRUE(eventually([&] {
    Process cli("/usr/bin/redis-cli", {"-p", std::to_string(redis.port()), "DBSIZE"});
    return cli.wait_exit(5s) == 0 && cli.stdout_text().starts_with("1");
  }));

  const GrpcClientReport hit = call(second.port, 3);
  ASSERT_EQ(hit.ok, 3u) << hit.json;
  for (const auto& call : hit.calls) {
    EXPECT_EQ(call.body, miss.calls.at(0).body) << hit.json;
    EXPECT_EQ(call.trailing("x-served-by").value_or(""), "grpc_peer") << hit.json;
    EXPECT_EQ(call.initial("x-levee-cache").value_or(""), "hit") << hit.json;
  }
  EXPECT_EQ(peer_.stats().unary_calls, 1u);
  EXPECT_EQ(metric_value(second.admin_port, "levee_cache_shared_tier_hits_total{route=\"echo\"}"),
            1u);
}

}  // namespace
}  // namespace levee::testing
