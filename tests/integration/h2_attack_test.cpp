// Issue 20: the known HTTP/2 attacks against levee's listener, each from a raw-frame attacker
// (tests/peers/h2_attack.py). Each must end with the connection closed by a GOAWAY (or its
// streams reset, for a zero window), levee's memory growth under a generous cap, its work
// bounded (the upstream sees a handful of calls at most), and other clients served during
// and after the attack.

#include "support/h2_attack.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t k_memory_cap = 64LL << 20;
// levee's CPU time for the whole attack (not wall time, so a loaded machine does not move it):
// a cap that only a connection spinning on the attacker's frames would reach.
constexpr auto k_cpu_cap = std::chrono::seconds(5);

// Memory and CPU stay under their caps; the figures go into the test's XML properties.
void expect_bounded(const UsageMeter& meter) {
  const UsageGrowth growth = meter.growth();
  ::testing::Test::RecordProperty("levee_peak_rss_growth_bytes",
                                  std::to_string(growth.peak_rss_bytes));
  ::testing::Test::RecordProperty(
      "levee_cpu_ms",
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(growth.cpu).count()));
  EXPECT_LT(growth.peak_rss_bytes, k_memory_cap);
  EXPECT_LT(growth.cpu, k_cpu_cap);
}

LeveeOptions attack_options() {
  LeveeOptions options;
  options.server_extra =
      "idle_timeout = \"3s\"\n[server.http2]\nstream_idle_timeout = \"500ms\"\n"
      "max_resets_per_second = 100\n";
  options.routes =
      "[[routes]]\nname = \"api\"\npath_prefix = \"/api/\"\nupstream = \"legacy\"\n"
      "mode = \"collapse\"\n"
      "[[routes]]\nname = \"all\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n";
  return options;
}

H2AttackOptions attack(const Stack& stack, std::string mode) {
  H2AttackOptions options;
  options.mode = std::move(mode);
  options.port = stack.port();
  options.path = "/api/attacked";
  return options;
}

// Another client, on its own connection, gets a whole answer over HTTP/2 and HTTP/1.1.
void expect_others_served(const Stack& stack) {
  H2AttackOptions get = attack(stack, "get");
  get.path = "/api/bystander";
  const H2AttackResult h2 = run_h2_attack(get);
  EXPECT_TRUE(h2.response_complete) << h2.json;
  EXPECT_EQ(h2.response_statuses.count("200"), 1u) << h2.json;
  const HttpResult h1 = http_get(stack.port(), "/api/bystander-h1");
  EXPECT_EQ(h1.status, 200) << h1.body;
}

std::uint64_t goaways(const Stack& stack, std::string_view reason) {
  return metric_value(stack.admin_port(),
                      "levee_http2_goaways_sent_total{reason=\"" + std::string(reason) + "\"}");
}

TEST(H2Attacks, RapidResetEndsWithEnhanceYourCalmAndCostsNoUpstreamWork) {
  Stack stack(attack_options(), {"--latency", "20ms"});
  const UsageMeter meter(stack.levee.process.pid());
  H2AttackOptions options = attack(stack, "rapid-reset");
  options.limit = 20'000;
  const H2AttackResult result = run_h2_attack(options);
  ASSERT_TRUE(result.goaway.has_value()) << result.json;
  EXPECT_EQ(result.goaway->error, "ENHANCE_YOUR_CALM") << result.json;
  // levee stopped taking streams long before the attack's last one (ids are odd: 1 .. 39,999);
  // how many the attacker managed to send first depends only on the socket buffers.
  EXPECT_LT(result.goaway->last_stream_id, 2u * 20'000u - 1u) << result.json;
  expect_bounded(meter);
  EXPECT_EQ(goaways(stack, "rapid_reset"), 1u);
  // Streams reset before their turn never reach a route; those whose turn came before their
  // reset was read are bounded by the reset budget (a burst of 2 x max_resets_per_second).
  EXPECT_LE(stack.upstream.calls("/api/attacked"), 200u);
  expect_others_served(stack);
}

TEST(H2Attacks, ContinuationFloodEndsWithAGoaway) {
  Stack stack(attack_options());
  const UsageMeter meter(stack.levee.process.pid());
  const H2AttackResult result = run_h2_attack(attack(stack, "continuation-flood"));
  ASSERT_TRUE(result.goaway.has_value()) << result.json;
  EXPECT_NE(result.goaway->error, "NO_ERROR") << result.json;
  EXPECT_LT(result.bytes_sent, 16u << 20) << "levee stopped reading the header block early";
  expect_bounded(meter);
  EXPECT_EQ(stack.upstream.calls("/api/attacked"), 0u);
  expect_others_served(stack);
}

// A flood of frames levee must acknowledge (SETTINGS or PING), sent without reading the
// acknowledgements.
void expect_flood_ends_with_enhance_your_calm(std::string mode) {
  Stack stack(attack_options());
  const UsageMeter meter(stack.levee.process.pid());
  const H2AttackResult result = run_h2_attack(attack(stack, std::move(mode)));
  ASSERT_TRUE(result.goaway.has_value()) << result.json;
  EXPECT_EQ(result.goaway->error, "ENHANCE_YOUR_CALM") << result.json;
  expect_bounded(meter);
  EXPECT_EQ(goaways(stack, "flood"), 1u);
  expect_others_served(stack);
}

TEST(H2Attacks, SettingsFloodEndsWithEnhanceYourCalm) {
  expect_flood_ends_with_enhance_your_calm("settings-flood");
}

TEST(H2Attacks, PingFloodEndsWithEnhanceYourCalm) {
  expect_flood_ends_with_enhance_your_calm("ping-flood");
}

TEST(H2Attacks, AZeroWindowCannotHoldStreamsOrTheConnection) {
  Stack stack(attack_options());
  const UsageMeter meter(stack.levee.process.pid());
  H2AttackOptions options = attack(stack, "zero-window");
  options.limit = 100;
  options.time_cap = 15s;
  const H2AttackResult result = run_h2_attack(options);
  // Every stream levee could not write to is reset after stream_idle_timeout (the attacker
  // stops once all are); the connection, idle then, ends with idle_timeout like any other.
  ASSERT_EQ(result.streams_opened, 100u) << result.json;
  EXPECT_EQ(result.rst_stream_errors.count("CANCEL") ? result.rst_stream_errors.at("CANCEL") : 0u,
            100u)
      << result.json;
  EXPECT_EQ(result.stopped_because, "streams_reset") << result.json;
  EXPECT_EQ(
      metric_value(stack.admin_port(), "levee_http2_stream_resets_sent_total{reason=\"stalled\"}"),
      100u);
  expect_bounded(meter);
  expect_others_served(stack);
}

TEST(H2Attacks, AHeaderListOverTheAdvertisedLimitGets431AndTheConnectionGoesOn) {
  Stack stack(attack_options());
  const H2AttackResult result = run_h2_attack(attack(stack, "header-list-size"));
  EXPECT_EQ(result.response_statuses.count("431"), 1u) << result.json;
  EXPECT_EQ(stack.upstream.calls("/api/attacked"), 0u);
  expect_others_served(stack);
}

}  // namespace
}  // namespace levee::testing
