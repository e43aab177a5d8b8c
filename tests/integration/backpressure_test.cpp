// Backpressure and the circuit breaker with real processes (DESIGN.md "Backpressure", "Cache
// and circuit breaker"): a route at max_pending sheds with 503 + Retry-After and answers every
// request it accepted; the upstream limit bounds calls per upstream; the breaker opens after
// its failure threshold, fails fast, half-opens and closes when the upstream is back.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

std::string route(std::string_view extra, std::string_view mode = "pass") {
  return "[[routes]]\nname = \"all\"\npath_prefix = \"/\"\nupstream = \"legacy\"\nmode = \"" +
         std::string(mode) + "\"\n" + std::string(extra);
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LEVEE_TEST_UNDER_ASAN 1
#endif
#endif
#ifdef LEVEE_TEST_UNDER_ASAN
constexpr std::uint64_t k_rss_bound_kib = 128u * 1024;
#else
constexpr std::uint64_t k_rss_bound_kib = 64u * 1024;
#endif

// Resident memory of a process, in KiB, from /proc.
std::uint64_t rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

// Sends `count` requests at once, each on its own connection, then reads every answer.
std::vector<HttpResult> send_together(std::uint16_t port, std::string_view target, int count) {
  std::vector<HttpConnection> connections;
  connections.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    connections.emplace_back(port);
    EXPECT_TRUE(connections.back().send_raw(format_request(port, "GET", target)));
  }
  std::vector<HttpResult> results;
  results.reserve(connections.size());
  for (auto& connection : connections) results.push_back(connection.read_response());
  return results;
}

TEST(Backpressure, ARouteAtMaxPendingShedsAtOnceAndAnswersWhatItAccepted) {
  LeveeOptions options;
  options.routes = route("max_pending = 4\n");
  Stack stack(options);
  const std::uint64_t rss_before = rss_kib(stack.levee.process.pid());
  int accepted = 0;
  int shed = 0;
  // Ten waves of 40 requests that each hold the upstream 200 ms: 10x what the route admits.
  for (int wave = 0; wave < 10; ++wave) {
    for (const HttpResult& result : send_together(stack.port(), "/slow?ms=200", 40)) {
      if (result.status == 200) {
        ++accepted;
      } else {
        ASSERT_EQ(result.status, 503) << result;
        EXPECT_EQ(result.header("Retry-After"), "1") << result;
        EXPECT_NE(result.body.find("max_pending"), std::string::npos) << result;
        ++shed;
      }
    }
  }
  EXPECT_GE(accepted, 40);  // at least the 4 permits of each wave
  EXPECT_GT(shed, 0);
  EXPECT_EQ(accepted + shed, 400);
  // Every accepted request reached the upstream; no shed one did.
  EXPECT_EQ(stack.upstream.calls("/slow"), static_cast<std::uint64_t>(accepted));
  EXPECT_EQ(
      metric_value(stack.admin_port(), "levee_shed_total{route=\"all\",reason=\"max_pending\"}"),
      static_cast<std::uint64_t>(shed));
  EXPECT_TRUE(eventually(
      [&] { return metric_value(stack.admin_port(), "levee_route_pending{route=\"all\"}") == 0; }));
  // Shedding buffers nothing: the bound is generous for a 2-worker process. AddressSanitizer's
  // quarantine keeps freed memory resident (tens of MiB here), so its build gets twice as much.
  const std::uint64_t rss_after = rss_kib(stack.levee.process.pid());
  EXPECT_LT(rss_after, k_rss_bound_kib) << "RSS before " << rss_before << " KiB";
}

TEST(Backpressure, AdmissionTimeoutLetsARequestWaitForAPermit) {
  LeveeOptions options;
  options.routes = route("max_pending = 1\nadmission_timeout = \"5s\"\n");
  Stack stack(options);
  // Three requests for one permit: each waits its turn instead of being shed.
  for (const HttpResult& result : send_together(stack.port(), "/slow?ms=100", 3)) {
    EXPECT_EQ(result.status, 200) << result;
  }
  EXPECT_EQ(
      metric_value(stack.admin_port(), "levee_shed_total{route=\"all\",reason=\"max_pending\"}"),
      0u);
}

TEST(Backpressure, TheUpstreamLimitBoundsCallsAcrossRoutesAndSlots) {
  LeveeOptions options;
  options.upstream_extra = "max_inflight = 2\n";
  options.routes = route("max_pending = 100\n");
  Stack stack(options);
  int ok = 0;
  int shed = 0;
  for (const HttpResult& result : send_together(stack.port(), "/slow?ms=300", 12)) {
    if (result.status == 200) {
      ++ok;
    } else {
      EXPECT_EQ(result.status, 503) << result;
      EXPECT_NE(result.body.find("max_inflight"), std::string::npos) << result;
      EXPECT_EQ(result.header("Retry-After"), "1") << result;
      ++shed;
    }
  }
  EXPECT_GE(ok, 2);
  EXPECT_EQ(ok + shed, 12);
  EXPECT_EQ(stack.upstream.calls("/slow"), static_cast<std::uint64_t>(ok));
  EXPECT_EQ(metric_value(stack.admin_port(),
                         "levee_shed_total{route=\"all\",reason=\"upstream_inflight\"}"),
            static_cast<std::uint64_t>(shed));
  // A shed call is not the upstream's failure: the breaker stays closed.
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_breaker_state{upstream=\"legacy\"}"), 0u);
}

TEST(Breaker, OpensFailsFastHalfOpensAndClosesWhenTheUpstreamIsBack) {
  LeveeOptions options;
  options.upstream_extra =
      "[upstreams.legacy.breaker]\nmin_calls = 5\nfailure_threshold = 0.5\nwindow = \"30s\"\n"
      "open_for = \"300ms\"\n";
  Stack stack(options);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(http_get(stack.port(), "/status/500").status, 500);
  }
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_breaker_state{upstream=\"legacy\"}"), 1u);
  const std::uint64_t calls_when_opened = stack.upstream.calls("/api/item");
  const HttpResult refused = http_get(stack.port(), "/api/item");
  EXPECT_EQ(refused.status, 503) << refused;
  EXPECT_NE(refused.body.find("circuit open"), std::string::npos) << refused;
  EXPECT_TRUE(refused.has_header("Retry-After")) << refused;
  EXPECT_EQ(stack.upstream.calls("/api/item"), calls_when_opened);  // failed fast
  EXPECT_GE(
      metric_value(stack.admin_port(), "levee_shed_total{route=\"all\",reason=\"breaker_open\"}"),
      1u);
  // After open_for a probe goes through; the upstream answers it, and the breaker closes.
  EXPECT_TRUE(eventually([&] { return http_get(stack.port(), "/api/item").status == 200; }, 5s));
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_breaker_state{upstream=\"legacy\"}"), 0u);
  EXPECT_EQ(metric_value(stack.admin_port(),
                         "levee_breaker_transitions_total{upstream=\"legacy\",to=\"open\"}"),
            1u);
  EXPECT_EQ(metric_value(stack.admin_port(),
                         "levee_breaker_transitions_total{upstream=\"legacy\",to=\"half_open\"}"),
            1u);
  EXPECT_EQ(metric_value(stack.admin_port(),
                         "levee_breaker_transitions_total{upstream=\"legacy\",to=\"closed\"}"),
            1u);
}

TEST(Breaker, AnOpenBreakerAnswersEveryMemberOfACollapsedSlot) {
  LeveeOptions options;
  options.upstream_extra =
      "[upstreams.legacy.breaker]\nmin_calls = 3\nfailure_threshold = 0.5\nopen_for = \"60s\"\n";
  options.routes = route("", "collapse");
  Stack stack(options);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(http_get(stack.port(), "/status/503").status, 503);
  }
  ASSERT_EQ(metric_value(stack.admin_port(), "levee_breaker_state{upstream=\"legacy\"}"), 1u);
  for (const HttpResult& result : send_together(stack.port(), "/api/same", 10)) {
    EXPECT_EQ(result.status, 503) << result;
    EXPECT_NE(result.body.find("circuit open"), std::string::npos) << result;
  }
  EXPECT_EQ(stack.upstream.calls("/api/same"), 0u);
}

TEST(Breaker, ADisabledBreakerNeverOpens) {
  LeveeOptions options;
  options.upstream_extra = "[upstreams.legacy.breaker]\nenabled = false\nmin_calls = 1\n";
  Stack stack(options);
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(http_get(stack.port(), "/status/500").status, 500);
  }
  EXPECT_EQ(http_get(stack.port(), "/api/x").status, 200);
}

}  // namespace
}  // namespace levee::testing

namespace levee::testing {
namespace {

// Issue 17.2: 10x overload (40 clients for 4 upstream permits) whose clients give up while
// they wait. Every departed client gives its place back: its admission or upstream permit, or
// its place in line, and its upstream call is cancelled. Without that, the 32 waiting in line
// would each go upstream in turn (40 calls over ten rounds of the upstream's 2 s).
TEST(Backpressure, DepartedClientsHoldNoUpstreamCapacity) {
  LeveeOptions options;
  options.upstream_extra = "max_inflight = 4\n";
  options.routes = route("max_pending = 8\nadmission_timeout = \"10s\"\n");
  Stack stack(options, {"--latency", "2s"});
  const auto metric = [&](std::string_view series) {
    return metric_value(stack.admin_port(), series);
  };
  {
    std::vector<HttpConnection> clients;
    for (int i = 0; i < 40; ++i) {
      clients.emplace_back(stack.port());
      ASSERT_TRUE(clients.back().send_raw(
          format_request(stack.port(), "GET", "/api/gone?i=" + std::to_string(i))));
    }
    // Everyone is in: 4 upstream calls, 4 more admitted and waiting for an upstream permit,
    // 32 in the admission line.
    ASSERT_TRUE(eventually([&] {
      return metric("levee_upstream_inflight{upstream=\"legacy\"}") == 4 &&
             metric("levee_route_pending{route=\"all\"}") == 8 &&
             metric("levee_admission_waiting{route=\"all\"}") == 32;
    }));
    EXPECT_EQ(stack.upstream.calls("/api/gone"), 4u);
  }  // every client gives up
  EXPECT_TRUE(eventually(
      [&] {
        return metric("levee_upstream_inflight{upstream=\"legacy\"}") == 0 &&
               metric("levee_route_pending{route=\"all\"}") == 0 &&
               metric("levee_admission_waiting{route=\"all\"}") == 0;
      },
      1500ms))
      << "inflight " << metric("levee_upstream_inflight{upstream=\"legacy\"}") << ", pending "
      << metric("levee_route_pending{route=\"all\"}") << ", waiting "
      << metric("levee_admission_waiting{route=\"all\"}");
  // No call was made for a client that had gone.
  EXPECT_EQ(stack.upstream.calls("/api/gone"), 4u);
  EXPECT_EQ(metric("levee_shed_total{route=\"all\",reason=\"max_pending\"}"), 0u);
}

}  // namespace
}  // namespace levee::testing
