#include "policy/observation.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>

#include "common/onnx_model_builder.hpp"
#include "policy/onnx_model.hpp"

namespace levee::policy {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using TimePoint = std::chrono::steady_clock::time_point;

GroupState group(std::size_t size, std::size_t cap, nanoseconds age, nanoseconds max_wait) {
  GroupState g;
  g.size = size;
  g.size_cap = cap;
  g.age = age;
  g.max_wait = max_wait;
  return g;
}

float log_time(double seconds, double max_wait) {
  return static_cast<float>(std::log1p(1000.0 * seconds / max_wait) / std::log1p(1000.0));
}

TEST(Observation, VersionOneFeaturesAreUnchanged) {
  SignalSnapshot snapshot;
  snapshot.arrival_rate = 100.0;
  snapshot.upstream_p99 = milliseconds(100);
  const Observation obs =
      make_observation(group(5, 10, milliseconds(25), milliseconds(50)), snapshot);
  EXPECT_FLOAT_EQ(obs[0], 0.5F);
  EXPECT_FLOAT_EQ(obs[1], 0.5F);
  EXPECT_FLOAT_EQ(obs[2], static_cast<float>(std::log1p(100.0) / std::log1p(500.0)));
  EXPECT_FLOAT_EQ(obs[3], static_cast<float>(std::tanh(1.0)));
}

// The same case rl/tests/test_signals.py checks: both sides compute the same features.
TEST(Observation, VersionTwoFeaturesHandChecked) {
  // A wave of 40 that stopped 2 ms ago, 10 of them in the last W/32, on a route whose
  // short-horizon rate is 4000/s, at age 3 ms of a 50 ms window.
  GroupState g = group(40, 128, milliseconds(3), milliseconds(50));
  g.since_last_arrival = milliseconds(2);
  g.recent_arrivals = 10;
  g.arrival_span = microseconds(780);  // 39 gaps of 20 µs
  SignalSnapshot snapshot;
  snapshot.arrival_rate = 100.0;
  snapshot.short_arrival_rate = 4000.0;
  const Observation obs = make_observation(g, snapshot);
  EXPECT_FLOAT_EQ(obs[4], log_time(0.002, 0.050));
  EXPECT_FLOAT_EQ(obs[5], log_time(0.00025, 0.050));  // the mean gap: 0.25 ms
  EXPECT_FLOAT_EQ(obs[6], 0.25F);
  const double expected = 4000.0 * 0.047;
  EXPECT_FLOAT_EQ(obs[7], static_cast<float>(expected / (expected + 40.0)));
  EXPECT_FLOAT_EQ(obs[8], log_time(0.00002, 0.050));
}

TEST(Observation, LogTimeScaleSpansMicrosecondsToTheWindow) {
  SignalSnapshot none;
  GroupState g = group(1, 128, nanoseconds::zero(), milliseconds(50));
  g.since_last_arrival = microseconds(50);  // W / 1000
  EXPECT_NEAR(make_observation(g, none)[4], std::log1p(1.0) / std::log1p(1000.0), 1e-6);
  g.since_last_arrival = milliseconds(50);
  EXPECT_FLOAT_EQ(make_observation(g, none)[4], 1.0F);
  g.since_last_arrival = seconds(9);
  EXPECT_FLOAT_EQ(make_observation(g, none)[4], 1.0F);
  // No arrival measured on the short horizon: the widest gap.
  EXPECT_FLOAT_EQ(make_observation(g, none)[5], 1.0F);
}

TEST(Observation, IsClampedToTheUnitInterval) {
  SignalSnapshot snapshot;
  snapshot.arrival_rate = 1e9;
  snapshot.short_arrival_rate = 1e-3;  // one arrival in 1000 s: a gap far beyond W
  snapshot.upstream_p99 = seconds(30);
  GroupState g = group(40, 10, seconds(1), milliseconds(50));
  g.since_last_arrival = seconds(1);
  g.recent_arrivals = 400;
  g.arrival_span = seconds(100);
  const Observation obs = make_observation(g, snapshot);
  for (std::size_t i = 0; i < k_observation_size; ++i) {
    EXPECT_FLOAT_EQ(obs[i], i == 7 ? 0.0F : 1.0F) << "feature " << i;  // 7: nothing to come
  }

  const Observation empty =
      make_observation(group(0, 10, nanoseconds::zero(), seconds(1)), SignalSnapshot{});
  for (std::size_t i = 0; i < k_observation_size; ++i) {
    EXPECT_FLOAT_EQ(empty[i], i == 5 || i == 8 ? 1.0F : 0.0F) << "feature " << i;
  }
}

TEST(Observation, HasNoNanForZeroBoundsOrOddInputs) {
  SignalSnapshot odd;
  odd.arrival_rate = std::numeric_limits<double>::infinity();
  odd.short_arrival_rate = std::numeric_limits<double>::quiet_NaN();
  odd.upstream_p99 = nanoseconds(-1);
  GroupState huge =
      group(std::numeric_limits<std::size_t>::max(), 1, nanoseconds::max(), nanoseconds(1));
  huge.since_last_arrival = nanoseconds::max();
  huge.recent_arrivals = std::numeric_limits<std::size_t>::max();
  huge.arrival_span = nanoseconds::max();
  const GroupState cases[] = {
      group(0, 0, nanoseconds::zero(), nanoseconds::zero()),
      group(3, 0, milliseconds(5), nanoseconds::zero()),
      group(3, 10, nanoseconds(-7), milliseconds(5)),
      huge,
  };
  SignalSnapshot fast;
  fast.short_arrival_rate = std::numeric_limits<double>::max();
  for (const GroupState& g : cases) {
    for (const SignalSnapshot& s : {odd, fast, SignalSnapshot{}}) {
      for (float feature : make_observation(g, s)) {
        EXPECT_TRUE(std::isfinite(feature));
        EXPECT_GE(feature, 0.0F);
        EXPECT_LE(feature, 1.0F);
      }
    }
  }
  const Observation zero_bounds =
      make_observation(group(3, 0, milliseconds(5), nanoseconds::zero()), SignalSnapshot{});
  EXPECT_FLOAT_EQ(zero_bounds[0], 1.0F);
  EXPECT_FLOAT_EQ(zero_bounds[1], 1.0F);
}

TEST(GroupArrivals, DescribesTheTimeSinceTheLastArrivalAndTheRecentGrowth) {
  const TimePoint open = TimePoint(std::chrono::hours(1));
  GroupArrivals arrivals(open);
  arrivals.add(open + microseconds(100));
  arrivals.add(open + microseconds(200));
  arrivals.add(open + microseconds(150));  // lost a race to the lock: counts as 200 µs
  GroupState state = group(4, 128, milliseconds(1), milliseconds(50));
  arrivals.describe(state, open + milliseconds(1));
  EXPECT_EQ(state.since_last_arrival, microseconds(800));
  EXPECT_EQ(state.recent_arrivals, 4U);  // all within W/32 = 1.5625 ms
  EXPECT_EQ(state.arrival_span, microseconds(200));
  arrivals.describe(state, open + microseconds(1600));
  EXPECT_EQ(state.recent_arrivals, 3U);  // the opener left the window
  arrivals.describe(state, open + microseconds(1800));
  EXPECT_EQ(state.recent_arrivals, 0U);
  const auto offsets = arrivals.offsets();
  ASSERT_EQ(offsets.size(), 4U);
  EXPECT_EQ(offsets[0], 0);
  EXPECT_EQ(offsets[3], nanoseconds(microseconds(200)).count());
}

TEST(ObservationContract, AcceptsOnlyAModelOfThisVersionAndWidth) {
  const auto load = [](const test::ModelBuilder& builder) {
    auto loaded = load_model_from_bytes(builder.bytes());
    EXPECT_TRUE(loaded.ok()) << loaded.error();
    return loaded.value();
  };
  EXPECT_EQ(observation_mismatch(*load(test::size_threshold_model(0.5F))), std::nullopt);

  const auto undeclared = observation_mismatch(*load(test::size_threshold_model(0.5F, 4, 0)));
  ASSERT_TRUE(undeclared);
  EXPECT_NE(undeclared->find("declares no observation version"), std::string::npos) << *undeclared;
  EXPECT_NE(undeclared->find("version 2 with 9 features"), std::string::npos) << *undeclared;

  const auto old = observation_mismatch(*load(test::size_threshold_model(0.5F, 4, 1)));
  ASSERT_TRUE(old);
  EXPECT_NE(old->find("declares observation version 1 with 4 inputs"), std::string::npos) << *old;

  // The right version on the wrong width is refused too.
  const auto narrow = observation_mismatch(*load(test::size_threshold_model(0.5F, 6)));
  ASSERT_TRUE(narrow);
  EXPECT_NE(narrow->find("version 2 with 6 inputs"), std::string::npos) << *narrow;
}

TEST(ObservationContract, AnObservationOfTheWrongWidthGivesNanLogits) {
  auto loaded = load_model_from_bytes(test::size_threshold_model(0.5F, 4, 0).bytes());
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  const Observation wide{};
  const auto logits = loaded.value()->evaluate(wide);
  EXPECT_TRUE(std::isnan(logits[0]));
  EXPECT_TRUE(std::isnan(logits[1]));
}

TEST(ObservationContract, AMalformedVersionIsRefusedAtLoad) {
  test::ModelBuilder builder = test::size_threshold_model(0.5F, 8, 0);
  builder.metadata(k_observation_version_key, "two");
  auto loaded = load_model_from_bytes(builder.bytes());
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().find("levee.observation_version"), std::string::npos) << loaded.error();
}

}  // namespace
}  // namespace levee::policy
