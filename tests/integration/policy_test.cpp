// The adaptive and learned flush policies end to end (issue 7): real levee (two workers) in
// front of a real levee-upstream, with model files written by the test the way an operator
// publishes them (a new file renamed over the old one).

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/onnx_model_builder.hpp"
#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

std::string window_route(std::string_view policy_keys) {
  return "[[routes]]\nname = \"api\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n"
         "mode = \"collapse\"\n[routes.collapse]\nstrategy = \"window\"\nmax_wait = \"20ms\"\n" +
         std::string(policy_keys);
}

Stack policy_stack(std::string_view policy_keys) {
  LeveeOptions options;
  options.routes = window_route(policy_keys);
  return Stack(options, {"--latency", "2ms"});
}

std::uint64_t metric(const Stack& stack, std::string_view series) {
  return metric_value(stack.admin_port(), series);
}

// Decisions the model made, counting those it made too slowly: a thread descheduled during
// an evaluation overruns decision_deadline and its decision goes to adaptive ("deadline"),
// which a loaded test machine can cause at any time.
std::uint64_t model_answers(std::uint16_t admin) {
  return metric_value(admin, "levee_policy_model_decisions_total{route=\"api\"}") +
         metric_value(admin, "levee_policy_fallbacks_total{route=\"api\",reason=\"deadline\"}");
}

TEST(Policies, AnAdaptiveWindowRouteSendsSparseRequestsAtOnce) {
  Stack stack = policy_stack("policy = \"adaptive\"\n");
  // One request at a time: adaptive sees no one else coming before max_wait (too_late or
  // no_traffic) and sends each slot at its arrival, with reason "policy".
  for (int i = 0; i < 20; ++i) {
    const auto result = http_get(stack.port(), "/api/sparse");
    ASSERT_EQ(result.status, 200) << result;
  }
  EXPECT_EQ(metric(stack, "levee_batch_flush_total{route=\"api\",reason=\"policy\"}"), 20u);
  EXPECT_EQ(metric(stack, "levee_batch_flush_total{route=\"api\",reason=\"timeout\"}"), 0u);
}

TEST(Policies, ALearnedRouteWithoutItsModelFallsBackAndTakesTheModelWhenItAppears) {
  TempDir models;
  const auto path = models.path() / "policy.onnx";
  Stack stack = policy_stack("policy = \"learned\"\nmodel = \"" + path.string() + "\"\n");
  const auto& admin = stack.admin_port();
  EXPECT_EQ(metric_value(admin, "levee_policy_model_loaded{route=\"api\"}"), 0u);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(http_get(stack.port(), "/api/a").status, 200);
  EXPECT_GE(metric_value(admin, "levee_policy_fallbacks_total{route=\"api\",reason=\"no_model\"}"),
            5u);

  // Flushes every group at once: the size feature of a lone request passes -1.
  test::publish(path, test::size_threshold_model(-1.0F).bytes());
  ASSERT_TRUE(eventually(
      [&] { return metric_value(admin, "levee_policy_model_loaded{route=\"api\"}") == 1; }, 10s));
  for (int i = 0; i < 5; ++i) ASSERT_EQ(http_get(stack.port(), "/api/b").status, 200);
  EXPECT_EQ(model_answers(admin), 5u);
  EXPECT_EQ(metric_value(admin, "levee_policy_model_loads_total{route=\"api\",result=\"loaded\"}"),
            1u);
}

TEST(Policies, ModelsSwappedUnderLoadFailNoRequest) {
  TempDir models;
  const auto path = models.path() / "policy.onnx";
  test::publish(path, test::size_threshold_model(-1.0F).bytes());
  Stack stack = policy_stack("policy = \"learned\"\nmodel = \"" + path.string() + "\"\n");
  const auto& admin = stack.admin_port();
  const std::string loaded = "levee_policy_model_loads_total{route=\"api\",result=\"loaded\"}";
  ASSERT_EQ(metric_value(admin, loaded), 1u);

  // Eight clients on a handful of keys (so that slots collapse), sending until the swaps are
  // over, each at most 20,000 requests.
  constexpr int k_clients = 8;
  constexpr int k_max_requests = 20'000;
  std::atomic<bool> swapping{true};
  std::atomic<int> answered{0};
  std::atomic<int> failed{0};
  std::atomic<int> during_swaps{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < k_clients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < k_max_requests && swapping.load(); ++i) {
        const auto result = http_get(stack.port(), "/api/k" + std::to_string((c + i) % 4));
        (result.status == 200 ? answered : failed).fetch_add(1);
        during_swaps.fetch_add(1);
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return during_swaps.load() >= 100; }, 10s));
  // Meanwhile: four new files, each waited for, then a SIGHUP that reloads the last one.
  std::uint64_t expected = 1;
  for (int swap = 0; swap < 4; ++swap) {
    test::publish(path, test::size_threshold_model(swap % 2 == 0 ? 0.02F : -1.0F).bytes());
    ++expected;
    ASSERT_TRUE(eventually([&] { return metric_value(admin, loaded) == expected; }, 10s));
  }
  ASSERT_TRUE(stack.levee.process.send_signal(SIGHUP));
  ++expected;
  ASSERT_TRUE(eventually([&] { return metric_value(admin, loaded) == expected; }, 10s));
  const int sent_before_the_last_swap = during_swaps.load();
  swapping = false;
  for (auto& client : clients) client.join();

  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(answered.load(), sent_before_the_last_swap - 1);
  EXPECT_GE(sent_before_the_last_swap, 500);  // the swaps happened under load
  EXPECT_EQ(metric_value(admin, "levee_policy_model_loads_total{route=\"api\",result=\"failed\"}"),
            0u);
  EXPECT_EQ(metric_value(admin, "levee_policy_fallbacks_total{route=\"api\",reason=\"no_model\"}"),
            0u);
  EXPECT_GT(metric_value(admin, "levee_policy_model_decisions_total{route=\"api\"}"), 0u);
}

TEST(Policies, ABadNewModelKeepsTheOldOne) {
  TempDir models;
  const auto path = models.path() / "policy.onnx";
  test::publish(path, test::size_threshold_model(-1.0F).bytes());
  Stack stack = policy_stack("policy = \"learned\"\nmodel = \"" + path.string() + "\"\n");
  const auto& admin = stack.admin_port();
  test::publish(path, "not an onnx model");
  ASSERT_TRUE(eventually(
      [&] {
        return metric_value(admin,
                            "levee_policy_model_loads_total{route=\"api\",result=\"failed\"}") == 1;
      },
      10s));
  EXPECT_EQ(metric_value(admin, "levee_policy_model_loaded{route=\"api\"}"), 1u);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(http_get(stack.port(), "/api/c").status, 200);
  EXPECT_EQ(metric_value(admin, "levee_policy_fallbacks_total{route=\"api\",reason=\"no_model\"}"),
            0u);
  EXPECT_EQ(model_answers(admin), 5u);
}

}  // namespace
}  // namespace levee::testing

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

TEST(FlushTelemetry, EveryFlushIsOneJsonLineWithWhatThePolicySaw) {
  TempDir out;
  const auto events = out.path() / "flush-events.jsonl";
  LeveeOptions options;
  options.routes = window_route("policy = \"adaptive\"\n") +
                   "[telemetry]\nsink = \"jsonl\"\npath = \"" + events.string() + "\"\n";
  Stack stack(options, {"--latency", "2ms"});
  for (int i = 0; i < 12; ++i) ASSERT_EQ(http_get(stack.port(), "/api/t").status, 200);
  ASSERT_TRUE(stack.levee.process.send_signal(SIGTERM));
  ASSERT_EQ(stack.levee.process.wait_exit(10s), 0);

  std::ifstream in(events);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 12u);  // one request at a time: one slot, one flush each
  for (const std::string& line : lines) {
    EXPECT_NE(line.find("\"route\":\"api\""), std::string::npos) << line;
    EXPECT_NE(line.find("\"reason\":\"policy\""), std::string::npos) << line;
    EXPECT_NE(line.find("\"size\":1"), std::string::npos) << line;
    EXPECT_NE(line.find("\"status\":200"), std::string::npos) << line;
    EXPECT_NE(line.find("\"action\":1"), std::string::npos) << line;
    EXPECT_NE(line.find("\"policy\":\"adaptive\""), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace levee::testing
