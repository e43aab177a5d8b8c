#include "policy/learned_policy.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/manual_clock.hpp"
#include "common/onnx_model_builder.hpp"

namespace levee::policy {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using test::ManualClock;

GroupState group(std::size_t size, std::size_t cap = 100) {
  GroupState g;
  g.size = size;
  g.size_cap = cap;
  g.age = milliseconds(1);
  g.max_wait = milliseconds(50);
  return g;
}

// A route with a learned policy over a model file in a directory of its own.
struct Route {
  explicit Route(const test::ModelBuilder* model, LearnedSettings settings = {})
      : directory(std::filesystem::temp_directory_path() /
                  ("levee-learned-" + std::to_string(::getpid()) + "-" +
                   std::to_string(reinterpret_cast<std::uintptr_t>(this)))),
        signals(std::make_shared<RouteSignals>()),
        adaptive(std::make_shared<AdaptivePolicy>(signals, AdaptiveSettings{}, clock.function())),
        counters(std::make_shared<DecisionCounters>()) {
    std::filesystem::create_directories(directory);
    const auto path = directory / "policy.onnx";
    if (model != nullptr) test::publish(path, model->bytes());
    slot = std::make_shared<ModelSlot>("r", path.string(), milliseconds(5));
    (void)slot->refresh(true);
    policy = std::make_unique<LearnedPolicy>(slot, adaptive, settings, counters, clock.function());
  }
  ~Route() { std::filesystem::remove_all(directory); }

  // Arrivals at 1,000/s for a second (and upstream calls of 20 ms): for a group of age 1 ms
  // under max_wait 50 ms and a cap of 100, adaptive waits below 60 members.
  void busy_route() {
    for (int i = 0; i < 1000; ++i) {
      clock.advance(microseconds(1000));
      signals->record_arrival(clock.now());
    }
    for (int i = 0; i < 100; ++i) signals->record_upstream_latency(milliseconds(20), clock.now());
  }

  std::filesystem::path directory;
  ManualClock clock;
  std::shared_ptr<RouteSignals> signals;
  std::shared_ptr<AdaptivePolicy> adaptive;
  std::shared_ptr<DecisionCounters> counters;
  std::shared_ptr<ModelSlot> slot;
  std::unique_ptr<LearnedPolicy> policy;
};

TEST(LearnedPolicy, TheModelDecidesFromTheObservation) {
  const auto model = test::size_threshold_model(0.5F);
  Route route(&model);
  route.busy_route();
  EXPECT_EQ(route.policy->name(), "learned");
  EXPECT_EQ(route.policy->decide(group(60)), FlushReason::policy);  // 0.6 > 0.5
  EXPECT_EQ(route.policy->decide(group(40)), std::nullopt);
  EXPECT_EQ(route.counters->model_decisions(), 2u);
  EXPECT_EQ(route.counters->fallbacks(Fallback::no_model), 0u);
}

TEST(LearnedPolicy, WithoutAModelTheAdaptivePolicyDecidesAndTheFallbackIsCounted) {
  Route route(nullptr);  // no file: nothing loads
  EXPECT_EQ(route.slot->current(), nullptr);
  EXPECT_EQ(route.slot->failures(), 1u);
  route.busy_route();
  // adaptive: 1/10 - 1/59 > 0.0075 waits; 1/60 - 1/100 <= 0.0075 goes.
  EXPECT_EQ(route.policy->decide(group(10)), std::nullopt);
  EXPECT_EQ(route.policy->decide(group(60)), FlushReason::policy);
  EXPECT_EQ(route.counters->fallbacks(Fallback::no_model), 2u);
  EXPECT_EQ(route.counters->model_decisions(), 0u);
}

TEST(LearnedPolicy, AnEvaluationPastTheDeadlineIsReplacedByTheFallbacksAnswer) {
  const auto model = test::size_threshold_model(0.05F);  // would flush at 10 of 100
  Route route(&model, LearnedSettings{microseconds(100), milliseconds(1)});
  route.busy_route();
  // The evaluation is timed with the policy's clock: make every reading 1 ms later.
  auto policy = LearnedPolicy(route.slot, route.adaptive, LearnedSettings{microseconds(100)},
                              route.counters, [&route] {
                                route.clock.advance(milliseconds(1));
                                return route.clock.now();
                              });
  EXPECT_EQ(policy.decide(group(10)), std::nullopt);  // adaptive's answer, not the model's
  EXPECT_EQ(route.counters->fallbacks(Fallback::deadline), 1u);
  EXPECT_EQ(route.counters->model_decisions(), 0u);
}

TEST(LearnedPolicy, ANonFiniteOutputFallsBack) {
  // Finite weights (the loader refuses others) whose product overflows to infinity.
  test::ModelBuilder nan_model;
  nan_model.input("obs", {1, k_observation_size}).output("logits");
  std::vector<float> huge(k_observation_size * 2, 0.0F);
  huge[0] = huge[1] = 3e38F;
  nan_model.init("w1", test::Mat{k_observation_size, 2, huge});
  nan_model.init("w2", test::Mat{2, 2, {10, 0, 0, 10}});
  nan_model.node("MatMul", {"obs", "w1"}, "h");
  nan_model.node("MatMul", {"h", "w2"}, "logits");
  nan_model.metadata(k_observation_version_key, std::to_string(k_observation_version));
  Route route(&nan_model);
  ASSERT_NE(route.slot->current(), nullptr);
  route.busy_route();
  EXPECT_EQ(route.policy->decide(group(60)), FlushReason::policy);  // adaptive's answer
  EXPECT_EQ(route.counters->fallbacks(Fallback::error), 1u);
}

TEST(LearnedPolicy, ItsTickIsTheConfiguredOneAndItDecides) {
  Route route(nullptr, LearnedSettings{microseconds(100), microseconds(500)});
  EXPECT_EQ(route.policy->tick(), microseconds(500));
  EXPECT_TRUE(route.policy->decides());
}

TEST(LearnedPolicy, NonsenseSettingsAreRefusedAtSetUp) {
  Route route(nullptr);
  EXPECT_THROW(
      LearnedPolicy(route.slot, route.adaptive, LearnedSettings{microseconds(0)}, route.counters),
      std::invalid_argument);
  EXPECT_THROW(LearnedPolicy(nullptr, route.adaptive, LearnedSettings{}, route.counters),
               std::invalid_argument);
  EXPECT_THROW(LearnedPolicy(route.slot, nullptr, LearnedSettings{}, route.counters),
               std::invalid_argument);
}

}  // namespace
}  // namespace levee::policy
