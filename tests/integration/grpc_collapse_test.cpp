// Issue 20: gRPC unary collapse (seed 003), end to end between a real gRPC client and a real
// gRPC server (grpcio, tests/peers/grpc_peer.py and grpc_client.py), levee in between
// speaking h2c on both sides. Identical calls share one upstream call; different messages or
// different authorization metadata never share; statuses and trailers arrive intact for every
// member; a server-streaming call passes through; levee's own refusals reach the client as
// gRPC statuses with levee's reason.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "levee_fixture.hpp"
#include "support/grpc_peers.hpp"
#include "support/polling.hpp"
#include "support/process.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// A collapse route and a pass route for the Echo service, both gRPC.
LeveeOptions grpc_options(const GrpcPeer& peer, std::string route_extra = {},
                          std::string upstream_extra = {}) {
  LeveeOptions options;
  options.upstream_address = peer.address();
  options.upstream_extra = "protocol = \"h2c\"\n" + upstream_extra;
  options.routes =
      "[[routes]]\nname = \"stream\"\npath_prefix = \"/levee.test.Echo/ServerStream\"\n"
      "upstream = \"legacy\"\ngrpc = true\n"
      "[[routes]]\nname = \"chat\"\npath_prefix = \"/levee.test.Echo/Chat\"\n"
      "upstream = \"legacy\"\ngrpc = true\n"
      "[[routes]]\nname = \"echo\"\npath_prefix = \"/levee.test.Echo/\"\nupstream = \"legacy\"\n"
      "mode = \"collapse\"\ngrpc = true\n" +
      route_extra;
  return options;
}

GrpcClientOptions through(const Stack& stack) {
  GrpcClientOptions client;
  client.target = "127.0.0.1:" + std::to_string(stack.port());
  return client;
}

class GrpcCollapse : public ::testing::Test {
 protected:
  GrpcPeer peer_;
};

TEST_F(GrpcCollapse, AHundredIdenticalUnaryCallsReachTheServerAsOne) {
  Stack stack(grpc_options(peer_));
  GrpcClientOptions client = through(stack);
  client.calls = 100;
  client.request = "same-question";
  client.authorization = "Bearer alice";
  client.metadata = {{"x-delay-ms", "300"}};  // holds the leader's call while the rest arrive
  const GrpcClientReport report = run_grpc_client(client);
  ASSERT_EQ(report.ok, 100u) << report.json;
  const std::string first = report.calls.at(0).body.value_or("");
  EXPECT_TRUE(contains(first, "same-question")) << first;
  for (const auto& call : report.calls) {
    EXPECT_EQ(call.body.value_or(""), first) << "call " << call.index;
    EXPECT_EQ(call.trailing("x-served-by").value_or(""), "grpc_peer") << "call " << call.index;
  }
  const GrpcPeerStats stats = peer_.stats();
  EXPECT_EQ(stats.unary_calls, 1u);
  EXPECT_EQ(metric_value(stack.admin_port(),
                         "levee_collapse_requests_total{route=\"echo\",role=\"follower\"}"),
            99u);
}

TEST_F(GrpcCollapse, DifferentMessagesEachGetTheirOwnAnswer) {
  Stack stack(grpc_options(peer_));
  GrpcClientOptions client = through(stack);
  client.calls = 100;
  client.distinct_requests = true;
  client.request = "question";
  client.metadata = {{"x-delay-ms", "200"}};
  const GrpcClientReport report = run_grpc_client(client);
  ASSERT_EQ(report.ok, 100u) << report.json;
  std::set<std::string> bodies;
  for (const auto& call : report.calls) {
    const std::string body = call.body.value_or("");
    EXPECT_TRUE(contains(body, "question-" + std::to_string(call.index) + "|")) << body;
    bodies.insert(body);
  }
  EXPECT_EQ(bodies.size(), 100u);
  EXPECT_EQ(peer_.stats().unary_calls, 100u);
}

TEST_F(GrpcCollapse, DifferentAuthorizationsNeverShareAnAnswer) {
  Stack stack(grpc_options(peer_));
  GrpcClientOptions client = through(stack);
  client.calls = 100;
  client.request = "same-question";
  client.authorization_per_call = true;
  client.metadata = {{"x-delay-ms", "200"}};
  const GrpcClientReport report = run_grpc_client(client);
  ASSERT_EQ(report.ok, 100u) << report.json;
  for (const auto& call : report.calls) {
    EXPECT_TRUE(contains(call.body.value_or(""), "token-" + std::to_string(call.index) + "|"))
        << "call " << call.index << ": " << call.body.value_or("");
  }
  const GrpcPeerStats stats = peer_.stats();
  EXPECT_EQ(stats.unary_calls, 100u);
  EXPECT_EQ(stats.authorizations.size(), 100u);
}

TEST_F(GrpcCollapse, AnErrorStatusAndItsTrailersReachEveryMember) {
  Stack stack(grpc_options(peer_));
  GrpcClientOptions client = through(stack);
  client.calls = 20;
  client.request = "missing";
  client.metadata = {
      {"x-delay-ms", "200"}, {"x-fail-code", "NOT_FOUND"}, {"x-fail-message", "no such thing"}};
  const GrpcClientReport report = run_grpc_client(client);
  ASSERT_EQ(report.calls.size(), 20u) << report.json;
  for (const auto& call : report.calls) {
    EXPECT_EQ(call.code, "NOT_FOUND") << report.json;
    EXPECT_EQ(call.details, "no such thing");
    EXPECT_TRUE(call.trailing("x-detail").has_value()) << report.json;
  }
  EXPECT_EQ(peer_.stats().unary_calls, 1u);
}

TEST_F(GrpcCollapse, AServerStreamingCallPassesThrough) {
  Stack stack(grpc_options(peer_));
  GrpcClientOptions client = through(stack);
  client.method = std::string(grpc_server_stream_method);
  client.stream = true;
  client.request = "stream-me";
  client.metadata = {{"x-count", "5"}};
  const GrpcClientReport report = run_grpc_client(client);
  ASSERT_EQ(report.ok, 1u) << report.json;
  EXPECT_EQ(report.calls.at(0).messages.size(), 5u) << report.json;
  EXPECT_EQ(peer_.stats().stream_calls, 1u);
}

TEST_F(GrpcCollapse, AServerStreamingCallsMessagesArriveWhileTheCallIsOpen) {
  Stack stack(grpc_options(peer_));
  // The server sends message 1, then holds 2 and 3 until the test releases them. curl (-N)
  // writes what arrives as it arrives; levee must pass message 1 on before the call ends.
  const std::string message = stack.dir.path() / "message.bin";
  (void)write_file(message, std::string("\0\0\0\0\4open", 9));
  const std::string head = stack.dir.path() / "head.txt";
  Process curl("/usr/bin/curl", {"-s",
                                 "-N",
                                 "--max-time",
                                 "30",
                                 "--http2-prior-knowledge",
                                 "-D",
                                 head,
                                 "-H",
                                 "content-type: application/grpc",
                                 "-H",
                                 "te: trailers",
                                 "-H",
                                 "x-count: 3",
                                 "-H",
                                 "x-hold-after: 1",
                                 "-H",
                                 "x-hold-name: first",
                                 "--data-binary",
                                 "@" + message,
                                 "http://127.0.0.1:" + std::to_string(stack.port()) +
                                     std::string(grpc_server_stream_method)});
  EXPECT_TRUE(eventually([&] { return contains(curl.stdout_text(), "msg=1/3"); }, 8s))
      << curl.stdout_text();
  EXPECT_FALSE(contains(curl.stdout_text(), "msg=2/3")) << curl.stdout_text();
  peer_.release("first");
  ASSERT_EQ(curl.wait_exit(20s), 0) << curl.stderr_text();
  EXPECT_TRUE(contains(curl.stdout_text(), "msg=3/3")) << curl.stdout_text();
  std::ifstream head_file(head);
  const std::string fields((std::istreambuf_iterator<char>(head_file)),
                           std::istreambuf_iterator<char>());
  EXPECT_TRUE(contains(fields, "grpc-status: 0")) << fields;
  EXPECT_TRUE(contains(fields, "x-released: 1")) << fields;
  EXPECT_EQ(peer_.stats().stream_calls, 1u);
}

TEST_F(GrpcCollapse, ABidirectionalCallGoesBackAndForthThroughAPassRoute) {
  // Each message goes only after the answer to the one before: a levee that waited for the
  // client's whole side (or held the server's answers) would deadlock until the deadline.
  Stack stack(grpc_options(peer_));
  GrpcClientOptions client = through(stack);
  client.method = std::string(grpc_chat_method);
  client.chat = 3;
  client.request = "hi";
  const GrpcClientReport report = run_grpc_client(client);
  ASSERT_EQ(report.ok, 1u) << report.json;
  ASSERT_EQ(report.calls.at(0).messages.size(), 3u) << report.json;
  for (int k = 1; k <= 3; ++k) {
    EXPECT_EQ(report.calls.at(0).messages.at(static_cast<std::size_t>(k - 1)),
              "hi#" + std::to_string(k) + "|echo|call=1")
        << report.json;
  }
  EXPECT_EQ(report.calls.at(0).trailing("x-served-by").value_or(""), "grpc_peer") << report.json;
}

TEST_F(GrpcCollapse, AnUpstreamTimeoutIsDeadlineExceededWithLeveesReason) {
  Stack stack(grpc_options(peer_, {}, "request_timeout = \"200ms\"\n"));
  GrpcClientOptions client = through(stack);
  client.request = "slow";
  client.metadata = {{"x-delay-ms", "2000"}};
  const GrpcClientReport report = run_grpc_client(client);
  ASSERT_EQ(report.calls.size(), 1u) << report.json;
  EXPECT_EQ(report.calls[0].code, "DEADLINE_EXCEEDED") << report.json;
  EXPECT_TRUE(contains(report.calls[0].details, "upstream")) << report.calls[0].details;
}

TEST_F(GrpcCollapse, GrpcTimeoutIsTheCallsDeadline) {
  Stack stack(grpc_options(peer_));
  // curl, not the gRPC client: a gRPC client's own deadline would end the call at the same
  // instant and hide whose timer fired. curl waits; only levee knows the deadline.
  const std::string message = stack.dir.path() / "message.bin";
  (void)write_file(message, std::string("\0\0\0\0\4slow", 9));
  Process curl("/usr/bin/curl",
               {"-s", "--max-time", "20", "--http2-prior-knowledge", "-D", "-", "-o", "/dev/null",
                "-H", "content-type: application/grpc", "-H", "te: trailers", "-H",
                "grpc-timeout: 200m", "-H", "x-delay-ms: 3000", "--data-binary", "@" + message,
                "http://127.0.0.1:" + std::to_string(stack.port()) + "/levee.test.Echo/Unary"});
  ASSERT_EQ(curl.wait_exit(30s), 0) << curl.stderr_text();
  const std::string head = curl.stdout_text();
  EXPECT_TRUE(contains(head, "grpc-status: 4")) << head;
  EXPECT_TRUE(contains(head, "grpc-message: deadline")) << head;
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_grpc_deadline_exceeded_total{route=\"echo\"}"),
            1u);
}

TEST_F(GrpcCollapse, ALeadersShortDeadlineDoesNotEndTheSharedCallForTheOthers) {
  // The leader's grpc-timeout stays at levee: the server would otherwise end the one call at
  // the leader's deadline and answer DEADLINE_EXCEEDED to the follower, which set none.
  Stack stack(grpc_options(peer_));
  const std::string message = stack.dir.path() / "message.bin";
  (void)write_file(message, std::string("\0\0\0\0\4same", 9));
  // curl writes trailers into its -D file, after the header section.
  auto call = [&](const std::string& fields_file, std::vector<std::string> extra) {
    std::vector<std::string> args{"-s",
                                  "--max-time",
                                  "20",
                                  "--http2-prior-knowledge",
                                  "-D",
                                  fields_file,
                                  "-o",
                                  "/dev/null",
                                  "-H",
                                  "content-type: application/grpc",
                                  "-H",
                                  "te: trailers",
                                  "-H",
                                  "x-delay-ms: 3000",
                                  "--data-binary",
                                  "@" + message};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("http://127.0.0.1:" + std::to_string(stack.port()) + "/levee.test.Echo/Unary");
    return std::make_unique<Process>("/usr/bin/curl", args);
  };
  auto fields_of = [](const std::string& file) {
    std::ifstream in(file);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const std::string leader_fields = stack.dir.path() / "leader.txt";
  const std::string follower_fields = stack.dir.path() / "follower.txt";
  // The follower must join before the leader's deadline (a call whose every member left is
  // ended): 2 s leaves room for a loaded machine to start curl and see the call upstream.
  auto leader = call(leader_fields, {"-H", "grpc-timeout: 2S"});
  ASSERT_TRUE(eventually([&] { return peer_.stats().in_flight == 1; })) << "no call upstream";
  auto follower = call(follower_fields, {});
  ASSERT_TRUE(eventually([&] {
    return metric_value(stack.admin_port(),
                        "levee_collapse_requests_total{route=\"echo\",role=\"follower\"}") == 1;
  })) << "the second call did not join the first";

  ASSERT_EQ(leader->wait_exit(30s), 0) << leader->stderr_text();
  EXPECT_TRUE(contains(fields_of(leader_fields), "grpc-status: 4")) << fields_of(leader_fields);
  EXPECT_TRUE(contains(fields_of(leader_fields), "grpc-message: deadline"))
      << fields_of(leader_fields);
  ASSERT_EQ(follower->wait_exit(30s), 0) << follower->stderr_text();
  EXPECT_TRUE(contains(fields_of(follower_fields), "grpc-status: 0")) << fields_of(follower_fields);
  const GrpcPeerStats stats = peer_.stats();
  EXPECT_EQ(stats.unary_calls, 1u);
  EXPECT_EQ(stats.cancelled_calls, 0u);
}

TEST_F(GrpcCollapse, AnUnreachableUpstreamIsUnavailable) {
  LeveeOptions options = grpc_options(peer_);
  options.upstream_address = "127.0.0.1:1";  // nothing listens there
  Stack stack(options);
  GrpcClientOptions client = through(stack);
  const GrpcClientReport report = run_grpc_client(client);
  ASSERT_EQ(report.calls.size(), 1u) << report.json;
  EXPECT_EQ(report.calls[0].code, "UNAVAILABLE") << report.json;
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_grpc_status_mapped_total{route=\"echo\"}"), 1u);
}

TEST_F(GrpcCollapse, ShedCallsAreResourceExhaustedWithPushback) {
  Stack stack(grpc_options(peer_, "max_pending = 1\n"));
  GrpcClientOptions client = through(stack);
  client.calls = 5;
  client.distinct_requests = true;  // distinct: each needs its own permit
  client.metadata = {{"x-delay-ms", "500"}};
  const GrpcClientReport report = run_grpc_client(client);
  ASSERT_EQ(report.calls.size(), 5u) << report.json;
  EXPECT_GE(report.ok, 1u) << report.json;
  ASSERT_GE(report.errors.count("RESOURCE_EXHAUSTED"), 1u) << report.json;
  for (const auto& call : report.calls) {
    if (call.code != "RESOURCE_EXHAUSTED") continue;
    EXPECT_TRUE(call.trailing("grpc-retry-pushback-ms").has_value()) << report.json;
  }
}

}  // namespace
}  // namespace levee::testing
