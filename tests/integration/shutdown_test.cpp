// DESIGN.md "Shutdown": on SIGTERM levee stops accepting, reports unready, answers every
// request it accepted, closes idle keep-alive connections and exits 0.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <csignal>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/ports.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

std::int64_t active_requests(std::uint16_t admin_port) {
  auto stats = http_get(admin_port, "/stats");
  if (!stats.ok) return -1;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::int64_t active = -1;
  if (parser.parse(stats.body).get(root) != simdjson::SUCCESS) return -1;
  if (root["active_requests"].get(active) != simdjson::SUCCESS) return -1;
  return active;
}

// Waits until levee reports `n` requests in flight. /stats is the observable event; the
// loop is bounded.
bool wait_for_active(std::uint16_t admin_port, std::int64_t n) {
  for (int i = 0; i < 500; ++i) {
    if (active_requests(admin_port) == n) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST(Shutdown, SigtermAnswersEveryRequestInFlightAndExitsZero) {
  Stack stack;
  constexpr int k_in_flight = 6;
  // Each request holds the upstream for 1.5 s, long enough to signal in the middle.
  std::vector<HttpConnection> connections;
  for (int i = 0; i < k_in_flight; ++i) {
    connections.emplace_back(stack.port());
    ASSERT_TRUE(connections.back().send_raw(
        format_request(stack.port(), "GET", "/slow?ms=1500&i=" + std::to_string(i))));
  }
  HttpConnection idle(stack.port());  // a keep-alive connection with nothing in flight
  ASSERT_EQ(idle.request("GET", "/api/idle").status, 200);
  ASSERT_TRUE(wait_for_active(stack.admin_port(), k_in_flight));

  ASSERT_TRUE(stack.levee.process.send_signal(SIGTERM));
  (void)stack.levee.process.wait_for_line("levee draining", 5s);

  // Unready while draining, and the idle connection is closed at once.
  auto ready = http_get(stack.admin_port(), "/readyz");
  EXPECT_TRUE(ready.ok) << ready;
  EXPECT_EQ(ready.status, 503);
  EXPECT_TRUE(idle.closed_by_peer(2s));
  // No new connections are accepted.
  EXPECT_FALSE(accepts_connections(stack.port()));

  for (int i = 0; i < k_in_flight; ++i) {
    auto r = connections[i].read_response();
    ASSERT_TRUE(r.ok) << i << ": " << r;
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("Connection").value_or(""), "close");
  }
  EXPECT_EQ(stack.levee.process.wait_exit(10s), 0) << stack.levee.process.stderr_text();
  EXPECT_NE(stack.levee.process.stderr_text().find("every accepted request was answered"),
            std::string::npos);
}

TEST(Shutdown, DrainTimeoutCutsLongRequestsAndSaysHowMany) {
  LeveeOptions options;
  options.server_extra = "drain_timeout = \"300ms\"\n";
  options.upstream_extra = "request_timeout = \"30s\"\n";
  Stack stack(options);
  HttpConnection c(stack.port());
  ASSERT_TRUE(c.send_raw(format_request(stack.port(), "GET", "/slow?ms=10000")));
  ASSERT_TRUE(wait_for_active(stack.admin_port(), 1));
  ASSERT_TRUE(stack.levee.process.send_signal(SIGTERM));
  const int code = stack.levee.process.wait_exit(10s);
  EXPECT_EQ(code, 1);
  EXPECT_NE(stack.levee.process.stderr_text().find("1 requests cut"), std::string::npos)
      << stack.levee.process.stderr_text();
}

TEST(Shutdown, SecondSignalEndsTheDrainAtOnce) {
  LeveeOptions options;
  options.upstream_extra = "request_timeout = \"30s\"\n";
  Stack stack(options);
  HttpConnection c(stack.port());
  ASSERT_TRUE(c.send_raw(format_request(stack.port(), "GET", "/slow?ms=10000")));
  ASSERT_TRUE(wait_for_active(stack.admin_port(), 1));
  ASSERT_TRUE(stack.levee.process.send_signal(SIGTERM));
  (void)stack.levee.process.wait_for_line("levee draining", 5s);
  ASSERT_TRUE(stack.levee.process.send_signal(SIGINT));
  EXPECT_EQ(stack.levee.process.wait_exit(5s), 1);
  EXPECT_NE(stack.levee.process.stderr_text().find("a second signal"), std::string::npos)
      << stack.levee.process.stderr_text();
}

TEST(Shutdown, IdleServerExitsZeroPromptly) {
  Stack stack;
  ASSERT_TRUE(stack.levee.process.send_signal(SIGINT));
  EXPECT_EQ(stack.levee.process.wait_exit(5s), 0);
}

}  // namespace
}  // namespace levee::testing
