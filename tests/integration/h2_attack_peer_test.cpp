// The HTTP/2 attacker (tests/peers/h2_attack.py) against nghttpd, a real HTTP/2 server on the
// library levee's own HTTP/2 session uses (Debian's nghttp2 1.52.0-1+deb12u3). These tests
// pin down two things before levee's attack tests (issue 20) exist: that the attacker's
// frames reach a real server and provoke the defence each one aims at, and what nghttp2 and
// nghttpd do by themselves, so that levee's tests can tell the library's defences from its
// own.
//
// Each test starts its own nghttpd and runs one attack. A well-behaved client (mode "get")
// asks for a 1 MiB file while the attacker runs (it usually overlaps the attack; served it
// must be either way) and another asks once the attack is over. Then nghttpd must still be
// running, and its peak resident memory must have grown by less than a generous cap.
// Nothing here measures time: every attack is bounded by its own frame count and time cap.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "support/h2_attack.hpp"
#include "support/nghttpd.hpp"
#include "support/ports.hpp"

namespace levee::testing {
namespace {

constexpr std::int64_t memory_cap_bytes = 64 << 20;
constexpr std::size_t big_file_bytes = 1 << 20;
constexpr auto attack_time_cap = std::chrono::seconds(30);

std::uint64_t count_of(const std::map<std::string, std::uint64_t, std::less<>>& counters,
                       std::string_view key) {
  const auto at = counters.find(key);
  return at == counters.end() ? 0 : at->second;
}

class H2AttackPeer : public ::testing::Test {
 protected:
  H2AttackPeer()
      : server_({{"index.html", "hello\n"}, {"big", std::string(big_file_bytes, 'b')}}) {}

  // One attack against nghttpd, with the checks every attack shares.
  H2AttackResult attack(const std::string& mode, std::optional<std::uint64_t> limit = {},
                        std::string path = "/",
                        std::chrono::milliseconds time_cap = attack_time_cap) {
    const UsageMeter meter(server_.pid());
    H2AttackOptions options;
    options.mode = mode;
    options.port = server_.port;
    options.limit = limit;
    options.time_cap = time_cap;
    options.path = std::move(path);
    H2Attack attacker(options);
    const H2AttackResult during = get("/big");
    const H2AttackResult result = attacker.wait();
    const H2AttackResult after = get("/index.html");
    const UsageGrowth growth = meter.growth();

    EXPECT_TRUE(during.response_complete) << during.json;
    EXPECT_EQ(count_of(during.response_statuses, "200"), 1u) << during.json;
    EXPECT_EQ(during.data_bytes_received, big_file_bytes) << during.json;
    EXPECT_TRUE(after.response_complete) << after.json;
    EXPECT_EQ(count_of(after.response_statuses, "200"), 1u) << after.json;
    EXPECT_TRUE(server_.process->running()) << server_.process->stderr_text();
    EXPECT_LT(growth.peak_rss_bytes, memory_cap_bytes) << result.json;
    RecordProperty("attack", result.json);
    RecordProperty("peak_rss_growth_bytes", std::to_string(growth.peak_rss_bytes));
    RecordProperty("rss_growth_bytes", std::to_string(growth.rss_bytes));
    RecordProperty(
        "cpu_microseconds",
        std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(growth.cpu).count()));
    return result;
  }

  H2AttackResult get(std::string path) {
    H2AttackOptions options;
    options.mode = "get";
    options.port = server_.port;
    options.path = std::move(path);
    return run_h2_attack(options);
  }

  NghttpdServer server_;
};

// nghttp2 1.52.0-1+deb12u1 backported the RST_STREAM rate limit (token bucket, burst 1000,
// 33 per second): the 1001st reset ends the connection with GOAWAY(INTERNAL_ERROR).
TEST_F(H2AttackPeer, RapidResetEndsInGoawayInternalErrorFromTheResetRateLimit) {
  constexpr std::uint64_t streams = 20000;
  const H2AttackResult result = attack("rapid-reset", streams);
  EXPECT_EQ(result.ended, "goaway") << result.json;
  ASSERT_TRUE(result.goaway.has_value()) << result.json;
  const H2Goaway goaway = result.goaway.value_or(H2Goaway{});
  EXPECT_EQ(goaway.error, "INTERNAL_ERROR") << result.json;
  EXPECT_LT(goaway.last_stream_id, 2 * streams - 1) << result.json;
  EXPECT_EQ(result.stopped_because, "connection_ended") << result.json;
  EXPECT_FALSE(result.tcp_end.empty()) << "the GOAWAY is followed by a close: " << result.json;
}

// nghttpd refuses a header block over 64 KiB on its stream (RST_STREAM INTERNAL_ERROR, its
// own check), and nghttp2 (CVE-2024-28182, 1.52.0-1+deb12u2) fails the session after 8
// CONTINUATION frames; nghttpd then closes the connection without a GOAWAY.
TEST_F(H2AttackPeer, ContinuationFloodIsCutOffByAClose) {
  const H2AttackResult result = attack("continuation-flood");
  EXPECT_TRUE(result.tcp_end == "tcp_close" || result.tcp_end == "tcp_reset") << result.json;
  EXPECT_FALSE(result.goaway.has_value()) << result.json;
  EXPECT_EQ(count_of(result.rst_stream_errors, "INTERNAL_ERROR"), 1u) << result.json;
  EXPECT_EQ(result.stopped_because, "connection_ended") << result.json;
}

// nghttp2 keeps at most 1000 SETTINGS and PING ACKs queued (max_outbound_ack); past that the
// session is "flooded" and nghttpd closes the connection. The attacker reads nothing, so a
// GOAWAY, if one was queued, is behind the ACKs it never read and dies with the reset.
TEST_F(H2AttackPeer, SettingsFloodIsCutOffByTheOutboundAckLimit) {
  const H2AttackResult result = attack("settings-flood");
  EXPECT_TRUE(result.server_closed()) << result.json;
  EXPECT_FALSE(result.goaway.has_value()) << result.json;
  EXPECT_EQ(result.stopped_because, "connection_ended") << result.json;
  EXPECT_LT(result.settings_acks_received, result.frames_sent) << result.json;
}

TEST_F(H2AttackPeer, PingFloodIsCutOffByTheOutboundAckLimit) {
  const H2AttackResult result = attack("ping-flood");
  EXPECT_TRUE(result.server_closed()) << result.json;
  EXPECT_FALSE(result.goaway.has_value()) << result.json;
  EXPECT_EQ(result.stopped_because, "connection_ended") << result.json;
  EXPECT_LT(result.ping_acks_received, result.frames_sent) << result.json;
}

// With every stream window at 0 the responses' HEADERS go out and their DATA never can.
// nghttpd holds such streams for its 60 s write timeout (then RST_STREAM INTERNAL_ERROR on
// each, the connection left open): within this test's 3 s cap the connection stays open.
TEST_F(H2AttackPeer, ZeroWindowStallIsHeldOpenByNghttpd) {
  constexpr std::uint64_t streams = 100;
  const H2AttackResult result = attack("zero-window", streams, "/big", std::chrono::seconds(3));
  EXPECT_EQ(result.ended, "timeout_still_open") << result.json;
  EXPECT_EQ(result.streams_opened, streams) << result.json;
  EXPECT_EQ(count_of(result.response_statuses, "200"), streams) << result.json;
  EXPECT_EQ(result.data_bytes_received, 0u) << result.json;
}

// nghttpd advertises no SETTINGS_MAX_HEADER_LIST_SIZE; its own 64 KiB cap refuses the
// request on its stream and leaves the connection open.
TEST_F(H2AttackPeer, OversizedHeaderListIsRefusedOnItsStream) {
  const H2AttackResult result = attack("header-list-size", 100000);
  EXPECT_EQ(result.server_settings.count("MAX_HEADER_LIST_SIZE"), 0u) << result.json;
  EXPECT_EQ(count_of(result.rst_stream_errors, "INTERNAL_ERROR"), 1u) << result.json;
  EXPECT_EQ(result.response_headers, 0u) << result.json;
  EXPECT_EQ(result.ended, "still_open") << result.json;
}

// The harness itself: a failed attack is an error, not a quiet result.
TEST(H2AttackHarness, AnAttackerThatCannotConnectThrows) {
  H2AttackOptions options;
  options.mode = "get";
  options.port = unused_port();
  EXPECT_THROW((void)run_h2_attack(options), std::runtime_error);
}

// The memory cap can fail: 80 MiB touched by this very process show up as peak growth.
TEST(H2AttackHarness, UsageMeterSeesMemoryGrowth) {
  const UsageMeter meter(::getpid());
  std::vector<char> ballast(80u << 20, 1);
  // The compiler may not elide the allocation: its pages must really be touched.
  asm volatile("" : : "g"(ballast.data()) : "memory");
  const UsageGrowth growth = meter.growth();
  EXPECT_GE(growth.peak_rss_bytes, memory_cap_bytes) << "rss " << meter.before().rss_bytes;
  EXPECT_GE(growth.cpu.count(), 0);
  EXPECT_EQ(ballast.back(), 1);
}

}  // namespace
}  // namespace levee::testing
