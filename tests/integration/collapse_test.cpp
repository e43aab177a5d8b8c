// mode = "collapse" end to end: real levee (two workers) in front of a real levee-upstream
// whose answers take 400 ms, so requests sent together are in flight together. What is
// counted is what levee-upstream itself counted.

#include <gtest/gtest.h>

#include <csignal>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"
#include "support/process.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

std::string collapse_route(std::string_view extra = {}) {
  return "[[routes]]\nname = \"api\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n"
         "mode = \"collapse\"\n" +
         std::string(extra);
}

Stack collapse_stack(std::string_view extra = {},
                     std::vector<std::string> upstream_args = {"--latency", "400ms"}) {
  LeveeOptions options;
  options.routes = collapse_route(extra);
  options.workers = 2;
  return Stack(options, std::move(upstream_args));
}

struct Sent {
  HttpConnection connection;
  std::string method;
};

// Sends every request on its own connection before reading any answer, so that all of them
// reach levee within the upstream's 400 ms.
std::vector<HttpResult> send_together(
    std::uint16_t port, const std::vector<std::pair<std::string, HeaderList>>& requests,
    std::string_view method = "GET") {
  std::vector<HttpConnection> connections;
  for (const auto& [target, headers] : requests) {
    connections.emplace_back(port);
    EXPECT_TRUE(connections.back().send_raw(format_request(port, method, target, headers)));
  }
  std::vector<HttpResult> results;
  for (auto& connection : connections) results.push_back(connection.read_response());
  return results;
}

TEST(Collapse, IdenticalConcurrentGetsShareOneUpstreamCall) {
  Stack stack = collapse_stack();
  const std::vector<std::pair<std::string, HeaderList>> same(
      20, {"/api/same?x=1", {{"Authorization", "Bearer u1"}}});
  const auto results = send_together(stack.port(), same);
  for (const auto& result : results) {
    ASSERT_EQ(result.status, 200) << result;
    EXPECT_EQ(result.body, results.front().body);
    EXPECT_NE(result.body.find("\"authorization\":\"Bearer u1\""), std::string::npos);
    EXPECT_NE(result.body.find("\"hits\":1"), std::string::npos) << result.body;
  }
  EXPECT_EQ(stack.upstream.calls("/api/same"), 1u);
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_active_batch_slots{route=\"api\"}"), 0u);
  EXPECT_EQ(metric_value(stack.admin_port(),
                         "levee_collapse_requests_total{route=\"api\",role=\"follower\"}"),
            19u);
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_batch_size_at_flush_count{route=\"api\"}"), 1u);
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_batch_size_at_flush_sum{route=\"api\"}"), 20u);
  const auto stats = http_get(stack.admin_port(), "/stats");
  EXPECT_NE(stats.body.find(
                "\"collapse\":{\"slots_in_flight\":0,\"waiters\":0,\"leaders\":1,"
                "\"followers\":19,\"bypassed\":0,\"client_gone\":0,\"collapse_ratio\":0.9500}"),
            std::string::npos)
      << stats.body;

  // After the answer, the same key goes upstream again: collapse never serves stale answers.
  EXPECT_EQ(http_get(stack.port(), "/api/same?x=1", {{"Authorization", "Bearer u1"}}).status, 200);
  EXPECT_EQ(stack.upstream.calls("/api/same"), 2u);
}

TEST(Collapse, CredentialsQueryAndHostSeparateCalls) {
  Stack stack = collapse_stack();
  std::vector<std::pair<std::string, HeaderList>> requests;
  for (int i = 0; i < 3; ++i) {
    requests.push_back({"/api/k", {{"Authorization", "Bearer u1"}}});
    requests.push_back({"/api/k", {{"Authorization", "Bearer u2"}}});
    requests.push_back({"/api/k?v=2", {{"Authorization", "Bearer u1"}}});
    requests.push_back({"/api/k", {{"Authorization", "Bearer u1"}, {"Host", "other.test"}}});
  }
  const auto results = send_together(stack.port(), requests);
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_EQ(results[i].status, 200) << results[i];
    const auto& [target, headers] = requests[i];
    const std::string user = headers.front().second;
    EXPECT_NE(results[i].body.find("\"authorization\":\"" + user + "\""), std::string::npos)
        << "request " << i << " got " << results[i].body;
    const bool has_query = target.find('?') != std::string::npos;
    EXPECT_EQ(results[i].body.find("\"query\":\"v=2\"") != std::string::npos, has_query);
    const bool other_host = headers.size() == 2;
    EXPECT_EQ(results[i].body.find("\"host\":\"other.test\"") != std::string::npos, other_host)
        << results[i].body;
  }
  EXPECT_EQ(stack.upstream.calls("/api/k"), 4u);
}

TEST(Collapse, SetCookieAnswersAreNotShared) {
  Stack stack = collapse_stack();
  const auto results = send_together(stack.port(), {5, {"/set-cookie", {}}});
  for (const auto& result : results) {
    ASSERT_EQ(result.status, 200) << result;
    EXPECT_TRUE(result.has_header("Set-Cookie"));
  }
  EXPECT_EQ(stack.upstream.calls("/set-cookie"), 5u);
}

TEST(Collapse, UpstreamErrorsAndTimeoutsReachEveryMember) {
  LeveeOptions options;
  options.routes = collapse_route();
  options.upstream_extra = "request_timeout = \"300ms\"\n";
  Stack stack(options);
  const auto timeouts = send_together(stack.port(), {6, {"/slow?ms=3000", {}}});
  for (const auto& result : timeouts) EXPECT_EQ(result.status, 504) << result;
  EXPECT_EQ(stack.upstream.calls("/slow"), 1u);

  Stack failing = collapse_stack({}, {"--latency", "400ms", "--error-rate", "1"});
  const auto errors = send_together(failing.port(), {6, {"/api/fail", {}}});
  for (const auto& result : errors) EXPECT_EQ(result.status, 500) << result;
  EXPECT_EQ(failing.upstream.calls("/api/fail"), 1u);
}

// The call belongs to the slot, not to the request that opened it: when that request's client
// goes away mid-call, the followers are served by the same single call (no stampede).
TEST(Collapse, LeaderThatDisconnectsDoesNotCancelTheCall) {
  Stack stack = collapse_stack({}, {"--latency", "1500ms"});
  HttpConnection leader(stack.port());
  ASSERT_TRUE(leader.send_raw(format_request(stack.port(), "GET", "/api/lead")));
  ASSERT_TRUE(eventually([&] { return stack.upstream.calls("/api/lead") == 1; }));
  std::vector<HttpConnection> followers;
  for (int i = 0; i < 5; ++i) {
    followers.emplace_back(stack.port());
    ASSERT_TRUE(followers.back().send_raw(format_request(stack.port(), "GET", "/api/lead")));
  }
  const std::string waiters = "levee_collapse_waiters{route=\"api\"}";
  ASSERT_TRUE(eventually([&] { return metric_value(stack.admin_port(), waiters) == 5; }));
  leader.close();
  for (auto& follower : followers) {
    const HttpResult result = follower.read_response();
    EXPECT_EQ(result.status, 200) << result;
  }
  EXPECT_EQ(stack.upstream.calls("/api/lead"), 1u);
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_active_batch_slots{route=\"api\"}"), 0u);
}

// A follower whose client goes away leaves its slot at once, while the leader's call is still
// in flight (this upstream answers after 3 s), and the leader still gets its answer.
TEST(Collapse, FollowersThatDisconnectLeaveAtOnce) {
  Stack stack = collapse_stack({}, {"--latency", "3s"});
  HttpConnection leader(stack.port());
  ASSERT_TRUE(leader.send_raw(format_request(stack.port(), "GET", "/api/gone")));
  ASSERT_TRUE(eventually([&] { return stack.upstream.calls("/api/gone") == 1; }));
  const std::string waiters = "levee_collapse_waiters{route=\"api\"}";
  const std::string slots = "levee_active_batch_slots{route=\"api\"}";
  {
    std::vector<HttpConnection> quitters;
    for (int i = 0; i < 5; ++i) {
      quitters.emplace_back(stack.port());
      ASSERT_TRUE(quitters.back().send_raw(format_request(stack.port(), "GET", "/api/gone")));
    }
    ASSERT_TRUE(eventually([&] { return metric_value(stack.admin_port(), waiters) == 5; }));
  }  // closed while waiting
  EXPECT_TRUE(eventually([&] { return metric_value(stack.admin_port(), waiters) == 0; }));
  // They left before the answer: the leader's slot is still open.
  EXPECT_EQ(metric_value(stack.admin_port(), slots), 1u);
  EXPECT_EQ(metric_value(stack.admin_port(),
                         "levee_collapse_requests_total{route=\"api\",role=\"client_gone\"}"),
            5u);
  const HttpResult answer = leader.read_response();
  EXPECT_EQ(answer.status, 200) << answer;
  EXPECT_EQ(stack.upstream.calls("/api/gone"), 1u);
  EXPECT_TRUE(eventually([&] { return metric_value(stack.admin_port(), slots) == 0; }));
}

// The request and the follower's end of stream arrive together: it still leaves at once.
TEST(Collapse, AFollowerThatHalfClosesWithItsRequestLeavesToo) {
  Stack stack = collapse_stack({}, {"--latency", "3s"});
  HttpConnection leader(stack.port());
  ASSERT_TRUE(leader.send_raw(format_request(stack.port(), "GET", "/api/half")));
  ASSERT_TRUE(eventually([&] { return stack.upstream.calls("/api/half") == 1; }));
  HttpConnection follower(stack.port());
  ASSERT_TRUE(follower.send_raw(format_request(stack.port(), "GET", "/api/half")));
  follower.shutdown_write();
  EXPECT_TRUE(eventually([&] {
    return metric_value(stack.admin_port(),
                        "levee_collapse_requests_total{route=\"api\",role=\"client_gone\"}") == 1;
  }));
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_active_batch_slots{route=\"api\"}"), 1u);
  EXPECT_EQ(leader.read_response().status, 200);
}

TEST(Collapse, FullSlotsAndAFullTableStillAnswerEveryone) {
  Stack stack = collapse_stack("[routes.collapse]\nmax_waiters = 1\nmax_slots = 2\n");
  // Four identical requests with one follower per slot: two slots, which fills the table...
  std::vector<HttpConnection> full;
  for (int i = 0; i < 4; ++i) {
    full.emplace_back(stack.port());
    ASSERT_TRUE(full.back().send_raw(format_request(stack.port(), "GET", "/api/full")));
  }
  ASSERT_TRUE(eventually([&] {
    return metric_value(stack.admin_port(), "levee_collapse_waiters{route=\"api\"}") == 2;
  }));
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_active_batch_slots{route=\"api\"}"), 2u);
  // ...so another key passes through uncollapsed, and is answered all the same.
  EXPECT_EQ(http_get(stack.port(), "/api/other").status, 200);
  for (auto& connection : full) EXPECT_EQ(connection.read_response().status, 200);
  EXPECT_EQ(stack.upstream.calls("/api/full"), 2u);
  EXPECT_EQ(stack.upstream.calls("/api/other"), 1u);
}

std::string debug_header_of(const HttpResult& result) {
  return result.header("X-Levee-Collapse").value_or("");
}

TEST(Collapse, DebugHeaderNamesTheRoleAndTheSlotSize) {
  Stack stack = collapse_stack("[routes.collapse]\ndebug_header = true\n");
  const auto results = send_together(stack.port(), {4, {"/api/debug", {}}});
  int leaders = 0;
  for (const auto& result : results) {
    ASSERT_EQ(result.status, 200) << result;
    const std::string header = debug_header_of(result);
    if (header.starts_with("leader; members=4; worker="))
      ++leaders;
    else
      EXPECT_TRUE(header.starts_with("follower; members=4; worker=")) << header;
  }
  EXPECT_EQ(leaders, 1);
  // Off by default.
  Stack quiet = collapse_stack();
  EXPECT_FALSE(http_get(quiet.port(), "/api/debug").has_header("X-Levee-Collapse"));
}

// The kernel spreads connections over the two workers' SO_REUSEPORT listeners; with 20
// connections both workers serve some (all on one: probability 2^-19), and the debug header
// names each answer's worker.
TEST(Collapse, RequestsOnTwoWorkersShareOneCall) {
  Stack stack = collapse_stack("[routes.collapse]\ndebug_header = true\n");
  const auto results = send_together(stack.port(), {20, {"/api/workers", {}}});
  std::set<std::string> workers;
  for (const auto& result : results) {
    ASSERT_EQ(result.status, 200) << result;
    const std::string header = debug_header_of(result);
    ASSERT_NE(header.find("members=20; worker="), std::string::npos) << header;
    workers.insert(header.substr(header.rfind('=') + 1));
  }
  EXPECT_EQ(workers, (std::set<std::string>{"0", "1"}));
  EXPECT_EQ(stack.upstream.calls("/api/workers"), 1u);
}

// strategy = "window": a slot parks until max_wait (or until it is full), and SIGTERM sends
// every parked slot at once.
TEST(CollapseWindow, ALoneRequestWaitsForMaxWait) {
  Stack stack = collapse_stack(
      "[routes.collapse]\nstrategy = \"window\"\npolicy = \"timer\"\nmax_wait = \"300ms\"\n", {});
  const auto started = std::chrono::steady_clock::now();
  const HttpResult result = http_get(stack.port(), "/api/lone");
  EXPECT_EQ(result.status, 200) << result;
  EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
  EXPECT_EQ(
      metric_value(stack.admin_port(), "levee_batch_flush_total{route=\"api\",reason=\"timeout\"}"),
      1u);
}

TEST(CollapseWindow, AFullSlotGoesAtOnceAndMembersShareOneCall) {
  Stack stack = collapse_stack(
      "[routes.collapse]\nstrategy = \"window\"\npolicy = \"size\"\nmax_wait = \"60s\"\n"
      "max_waiters = 3\n",
      {});
  // Four identical requests fill the slot (a leader and three followers) long before the
  // 60 s max_wait: it goes upstream at once, as one call.
  const auto results = send_together(stack.port(), {4, {"/api/full", {}}});
  for (const auto& result : results) EXPECT_EQ(result.status, 200) << result;
  EXPECT_EQ(stack.upstream.calls("/api/full"), 1u);
  EXPECT_EQ(metric_value(stack.admin_port(),
                         "levee_batch_flush_total{route=\"api\",reason=\"size_cap\"}"),
            1u);
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_batch_size_at_flush_sum{route=\"api\"}"), 4u);
}

// max_wait is a minute, far past the client's 10 s timeout: an answer at all means SIGTERM
// sent the slot, with no wall-clock bound in the test.
TEST(CollapseWindow, SigtermSendsParkedSlotsAndAnswersEveryone) {
  Stack stack =
      collapse_stack("[routes.collapse]\nstrategy = \"window\"\nmax_wait = \"60s\"\n", {});
  std::vector<HttpConnection> parked;
  for (int i = 0; i < 3; ++i) {
    parked.emplace_back(stack.port());
    ASSERT_TRUE(parked.back().send_raw(format_request(stack.port(), "GET", "/api/parked")));
  }
  ASSERT_TRUE(eventually([&] {
    return metric_value(stack.admin_port(), "levee_collapse_waiters{route=\"api\"}") == 2;
  }));
  EXPECT_EQ(stack.upstream.calls("/api/parked"), 0u);
  ASSERT_TRUE(stack.levee.process.send_signal(SIGTERM));
  for (auto& connection : parked) EXPECT_EQ(connection.read_response().status, 200);
  EXPECT_EQ(stack.upstream.calls("/api/parked"), 1u);
  EXPECT_EQ(stack.levee.process.wait_exit(10s), 0);
}

TEST(Collapse, TheDisabledPresetPassesEverythingThrough) {
  Stack stack = collapse_stack("[routes.collapse]\npreset = \"disabled\"\n");
  const auto results = send_together(stack.port(), {4, {"/api/off", {}}});
  for (const auto& result : results) EXPECT_EQ(result.status, 200) << result;
  EXPECT_EQ(stack.upstream.calls("/api/off"), 4u);
}

TEST(Collapse, OtherMethodsPassThrough) {
  Stack stack = collapse_stack();
  const auto results = send_together(stack.port(), {3, {"/api/post", {}}}, "POST");
  for (const auto& result : results) EXPECT_EQ(result.status, 200) << result;
  EXPECT_EQ(stack.upstream.calls("/api/post"), 3u);
}

}  // namespace
}  // namespace levee::testing
