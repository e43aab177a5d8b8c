#include "bench/schedule.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace levee::bench {
namespace {

using std::chrono::milliseconds;

std::vector<Nanos> drain(Schedule& schedule) {
  std::vector<Nanos> offsets;
  while (auto offset = schedule.next()) {
    offsets.push_back(*offset);
    if (offsets.size() > 10'000'000) break;  // a runaway schedule fails below, not here
  }
  return offsets;
}

Phase constant(double rate, Nanos duration) {
  Phase phase;
  phase.kind = Phase::Kind::constant;
  phase.rate_from = phase.rate_to = rate;
  phase.duration = duration;
  return phase;
}

TEST(Schedule, ConstantRateIsEvenlySpaced) {
  Schedule schedule({constant(100, milliseconds(1000))}, 1);
  const auto offsets = drain(schedule);
  ASSERT_EQ(offsets.size(), 100u);
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::microseconds>(offsets[i]).count(),
              static_cast<long>(i) * 10'000)
        << i;
  }
  EXPECT_EQ(schedule.duration(), milliseconds(1000));
}

TEST(Schedule, RampFollowsTheIntegralOfItsRate) {
  Phase ramp;
  ramp.kind = Phase::Kind::ramp;
  ramp.rate_from = 0;
  ramp.rate_to = 100;
  ramp.duration = milliseconds(1000);
  Schedule schedule({ramp}, 1);
  const auto offsets = drain(schedule);
  // The integral of a 0 -> 100/s ramp over 1 s is 50 requests; N(t) = 50 t^2.
  ASSERT_EQ(offsets.size(), 50u);
  EXPECT_EQ(offsets.front(), Nanos{0});
  for (std::size_t i = 1; i < offsets.size(); ++i) EXPECT_GE(offsets[i], offsets[i - 1]);
  // Request 25 is due when 50 t^2 = 25: t = sqrt(0.5) s.
  EXPECT_NEAR(std::chrono::duration<double>(offsets[25]).count(), 0.70711, 1e-4);
  EXPECT_LE(offsets.back(), milliseconds(1000));
}

TEST(Schedule, DownwardRampEndsAtItsDuration) {
  Phase ramp;
  ramp.kind = Phase::Kind::ramp;
  ramp.rate_from = 200;
  ramp.rate_to = 0;
  ramp.duration = milliseconds(500);
  Schedule schedule({ramp}, 1);
  const auto offsets = drain(schedule);
  EXPECT_EQ(offsets.size(), 50u);
  for (std::size_t i = 1; i < offsets.size(); ++i) EXPECT_GT(offsets[i], offsets[i - 1]);
  EXPECT_LE(offsets.back(), milliseconds(500));
}

TEST(Schedule, WavesReleaseTheirRequestsTogether) {
  Phase waves;
  waves.kind = Phase::Kind::waves;
  waves.waves = 3;
  waves.wave_size = 4;
  waves.interval = milliseconds(50);
  Schedule schedule({waves}, 1);
  const auto offsets = drain(schedule);
  ASSERT_EQ(offsets.size(), 12u);
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    EXPECT_EQ(offsets[i], milliseconds(50) * static_cast<long>(i / 4)) << i;
  }
  EXPECT_EQ(schedule.duration(), milliseconds(150));
}

TEST(Schedule, PhasesRunInSequence) {
  Phase waves;
  waves.kind = Phase::Kind::waves;
  waves.waves = 2;
  waves.wave_size = 2;
  waves.interval = milliseconds(100);
  const Phase pause = constant(0, milliseconds(300));
  Schedule schedule({waves, pause, constant(10, milliseconds(200))}, 1);
  const auto offsets = drain(schedule);
  ASSERT_EQ(offsets.size(), 6u);
  EXPECT_EQ(offsets[0], milliseconds(0));
  EXPECT_EQ(offsets[2], milliseconds(100));
  // The constant phase starts after 200 ms of waves and 300 ms of pause.
  EXPECT_EQ(offsets[4], milliseconds(500));
  EXPECT_EQ(offsets[5], milliseconds(600));
  EXPECT_EQ(schedule.duration(), milliseconds(700));
}

TEST(Schedule, PoissonArrivalsAreSeededAndNearTheirRate) {
  Phase phase = constant(1000, milliseconds(10'000));
  phase.arrival = Arrival::poisson;
  Schedule first({phase}, 7);
  Schedule second({phase}, 7);
  const auto a = drain(first);
  const auto b = drain(second);
  EXPECT_EQ(a, b);
  // 10,000 expected; a Poisson count's standard deviation is 100.
  EXPECT_NEAR(static_cast<double>(a.size()), 10'000.0, 500.0);
  for (std::size_t i = 1; i < a.size(); ++i) EXPECT_GE(a[i], a[i - 1]);
  EXPECT_LT(a.back(), milliseconds(10'000));

  Schedule other({phase}, 8);
  EXPECT_NE(drain(other), a);
}

TEST(Schedule, ZeroRateAndEmptySchedulesEnd) {
  Schedule empty({}, 1);
  EXPECT_FALSE(empty.next().has_value());
  Schedule idle({constant(0, milliseconds(100))}, 1);
  EXPECT_FALSE(idle.next().has_value());
}

}  // namespace
}  // namespace levee::bench
