#include "policy/route_signals.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace levee::policy {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Time moves only when the test says so.
const TimePoint k_start = TimePoint(hours(1));

SignalSettings settings(Duration tau = seconds(1), Duration window = seconds(8)) {
  SignalSettings s;
  s.rate_time_constant = tau;
  s.latency_window = window;
  return s;
}

// Records arrivals every `gap` from `from` for `span`; returns the time of the last one.
TimePoint steady_arrivals(RouteSignals& signals, TimePoint from, Duration gap, Duration span) {
  TimePoint t = from;
  for (; t < from + span; t += gap) signals.record_arrival(t);
  return t - gap;
}

TEST(RouteSignals, RateIsZeroBeforeAnyArrival) {
  RouteSignals signals(settings());
  EXPECT_EQ(signals.arrival_rate(k_start), 0.0);
  EXPECT_FALSE(signals.upstream_p99(k_start));
}

TEST(RouteSignals, RateConvergesToASteadyArrivalRate) {
  RouteSignals signals(settings(seconds(1)));
  const TimePoint last = steady_arrivals(signals, k_start, milliseconds(10), seconds(8));
  // Between arrivals the estimate swings by 1/tau around lambda: lambda ± 0.5.
  EXPECT_NEAR(signals.arrival_rate(last), 100.0, 1.0);
  EXPECT_NEAR(signals.arrival_rate(last + milliseconds(5)), 100.0, 1.0);
}

TEST(RouteSignals, RateTracksPoissonArrivals) {
  RouteSignals signals(settings(seconds(1)));
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> gap(200.0);
  TimePoint t = k_start;
  const TimePoint end = k_start + seconds(10);
  while (t < end) {
    t += std::chrono::duration_cast<Duration>(std::chrono::duration<double>(gap(rng)));
    signals.record_arrival(t);
  }
  // Standard deviation sqrt(lambda / (2 tau)) = 10/s; four of them.
  EXPECT_NEAR(signals.arrival_rate(t), 200.0, 40.0);
}

TEST(RouteSignals, RateDecaysExactlyDuringAnIdleGap) {
  RouteSignals signals(settings(milliseconds(500)));
  const TimePoint last = steady_arrivals(signals, k_start, milliseconds(5), seconds(5));
  const double at_last = signals.arrival_rate(last);
  EXPECT_NEAR(signals.arrival_rate(last + milliseconds(500)), at_last * std::exp(-1.0), 1e-6);
  EXPECT_NEAR(signals.arrival_rate(last + seconds(1)), at_last * std::exp(-2.0), 1e-6);
  EXPECT_LT(signals.arrival_rate(last + seconds(10)), 1e-6);
  // An arrival after a long silence starts from the decayed value, not the old one.
  signals.record_arrival(last + seconds(10));
  EXPECT_NEAR(signals.arrival_rate(last + seconds(10)), 2.0, 1e-3);  // 1 / tau
}

TEST(RouteSignals, RateIsTheExactKernelSumOverIrregularArrivals) {
  const double tau = 0.25;
  RouteSignals signals(settings(milliseconds(250)));
  const std::vector<Duration> offsets = {milliseconds(0),   milliseconds(3),   milliseconds(40),
                                         milliseconds(41),  milliseconds(700), milliseconds(702),
                                         milliseconds(1500)};
  for (Duration offset : offsets) signals.record_arrival(k_start + offset);
  const Duration at = milliseconds(1600);
  double expected = 0.0;
  for (Duration offset : offsets) {
    expected += std::exp(-std::chrono::duration<double>(at - offset).count() / tau) / tau;
  }
  EXPECT_NEAR(signals.arrival_rate(k_start + at), expected, 1e-9);
}

TEST(RouteSignals, LateRecordedArrivalCountsDecayedByItsAge) {
  const double tau = 1.0;
  RouteSignals signals(settings(seconds(1)));
  signals.record_arrival(k_start + milliseconds(100));
  signals.record_arrival(k_start + milliseconds(50));  // a racing thread, earlier clock read
  const double expected = (1.0 + std::exp(-0.05 / tau)) / tau;
  EXPECT_NEAR(signals.arrival_rate(k_start + milliseconds(100)), expected, 1e-9);
  // A read from before the latest arrival reads the rate at that arrival.
  EXPECT_NEAR(signals.arrival_rate(k_start), expected, 1e-9);
}

TEST(RouteSignals, BucketsBoundTheirLatencies) {
  EXPECT_EQ(RouteSignals::bucket_of(Duration::zero()), 0U);
  EXPECT_EQ(RouteSignals::bucket_of(Duration(-5)), 0U);
  EXPECT_EQ(RouteSignals::bucket_of(microseconds(10)), 0U);
  EXPECT_EQ(RouteSignals::bucket_of(hours(10)), RouteSignals::k_latency_buckets - 1);
  for (Duration latency :
       std::initializer_list<Duration>{microseconds(11), microseconds(500), milliseconds(3),
                                       milliseconds(47), milliseconds(999), seconds(30)}) {
    const std::size_t bucket = RouteSignals::bucket_of(latency);
    EXPECT_LE(latency, RouteSignals::bucket_upper_bound(bucket)) << latency.count();
    EXPECT_GT(latency, RouteSignals::bucket_upper_bound(bucket - 1)) << latency.count();
    EXPECT_LE(RouteSignals::bucket_upper_bound(bucket).count(),
              static_cast<double>(latency.count()) * 1.19 + 1.0);
  }
}

TEST(RouteSignals, P99TracksALatencyDistribution) {
  RouteSignals signals(settings());
  // 1 ms .. 100 ms, ten calls each: the 990th of 1000 is 99 ms.
  for (int rep = 0; rep < 10; ++rep) {
    for (int ms = 1; ms <= 100; ++ms) {
      signals.record_upstream_latency(milliseconds(ms), k_start + milliseconds(rep));
    }
  }
  const auto p99 = signals.upstream_p99(k_start + milliseconds(20));
  ASSERT_TRUE(p99);
  EXPECT_GE(*p99, milliseconds(99));
  EXPECT_LE(*p99, microseconds(99'000 * 119 / 100));
}

TEST(RouteSignals, P99IgnoresTheSlowestPercent) {
  RouteSignals signals(settings());
  for (int i = 0; i < 995; ++i) signals.record_upstream_latency(milliseconds(5), k_start);
  for (int i = 0; i < 5; ++i) signals.record_upstream_latency(seconds(2), k_start);
  const auto p99 = signals.upstream_p99(k_start);
  ASSERT_TRUE(p99);
  EXPECT_GE(*p99, milliseconds(5));
  EXPECT_LE(*p99, microseconds(5'950));
}

TEST(RouteSignals, P99ForgetsOldCalls) {
  RouteSignals signals(settings(seconds(1), seconds(8)));  // slices of 1 s
  for (int i = 0; i < 100; ++i) signals.record_upstream_latency(milliseconds(300), k_start);
  // Still inside the window.
  ASSERT_TRUE(signals.upstream_p99(k_start + seconds(5)));
  EXPECT_GE(*signals.upstream_p99(k_start + seconds(5)), milliseconds(300));
  // Newer fast calls; the slow ones leave the window 8 slices later.
  for (int i = 0; i < 100; ++i) {
    signals.record_upstream_latency(milliseconds(4), k_start + seconds(6));
  }
  EXPECT_GE(*signals.upstream_p99(k_start + seconds(6)), milliseconds(300));
  const auto later = signals.upstream_p99(k_start + seconds(9));
  ASSERT_TRUE(later);
  EXPECT_GE(*later, milliseconds(4));
  EXPECT_LT(*later, milliseconds(5));
  // Nothing left at all.
  EXPECT_FALSE(signals.upstream_p99(k_start + seconds(20)));
}

TEST(RouteSignals, CallFromBeforeTheWindowIsDropped) {
  RouteSignals signals(settings(seconds(1), seconds(8)));
  signals.record_upstream_latency(milliseconds(2), k_start + seconds(30));
  signals.record_upstream_latency(seconds(3), k_start);  // ended long ago, recorded late
  const auto p99 = signals.upstream_p99(k_start + seconds(30));
  ASSERT_TRUE(p99);
  EXPECT_LT(*p99, milliseconds(3));
}

TEST(RouteSignals, SlotReusedAfterAWrapHoldsOnlyItsNewSlice) {
  RouteSignals signals(settings(seconds(1), seconds(8)));
  signals.record_upstream_latency(seconds(1), k_start);
  // Same slot (8 slices later), written before any read expired the old slice.
  signals.record_upstream_latency(milliseconds(1), k_start + seconds(8));
  const auto p99 = signals.upstream_p99(k_start + seconds(8));
  ASSERT_TRUE(p99);
  EXPECT_LT(*p99, milliseconds(2));
}

TEST(RouteSignals, ObserveReadsTheRoutesSignals) {
  RouteSignals signals(settings(seconds(1)));
  const TimePoint last = steady_arrivals(signals, k_start, milliseconds(10), seconds(8));
  signals.record_upstream_latency(milliseconds(20), last);
  const Observation obs =
      signals.observe(GroupState{1, 4, 0, 0, milliseconds(1), milliseconds(4)}, last);
  EXPECT_FLOAT_EQ(obs[0], 0.25F);
  EXPECT_FLOAT_EQ(obs[1], 0.25F);
  const double p99_ms =
      std::chrono::duration<double, std::milli>(*signals.upstream_p99(last)).count();
  EXPECT_FLOAT_EQ(obs[2], static_cast<float>(std::log1p(p99_ms) / std::log1p(500.0)));
  EXPECT_NEAR(obs[3], std::tanh(1.0), 0.01);
  // One arrival every 10 ms: the short-horizon gap estimate is about 10 ms (a fifth of W).
  EXPECT_NEAR(signals.short_arrival_rate(last), 1.0 / (0.010 * (1.0 - std::exp(-1.0))), 1.0);
}

TEST(RouteSignals, ShortRateSeesABurstEndWithinMilliseconds) {
  RouteSignals signals;
  const TimePoint last = steady_arrivals(signals, k_start, microseconds(20), milliseconds(1));
  const double in_burst = signals.short_arrival_rate(last);
  EXPECT_GT(in_burst, 4000.0);  // 50 arrivals within 1 ms, over tau = 10 ms
  EXPECT_NEAR(signals.short_arrival_rate(last + milliseconds(10)), in_burst * std::exp(-1.0),
              1e-6 * in_burst);
  // The long rate hardly moves in that time.
  EXPECT_NEAR(signals.arrival_rate(last + milliseconds(10)), signals.arrival_rate(last),
              0.02 * signals.arrival_rate(last));
}

TEST(RouteSignals, RefusesSettingsItCannotRunWith) {
  EXPECT_THROW(RouteSignals(settings(Duration::zero())), std::invalid_argument);
  EXPECT_THROW(RouteSignals(settings(seconds(-1))), std::invalid_argument);
  EXPECT_THROW(RouteSignals(settings(seconds(1), Duration(3))), std::invalid_argument);
}

// Writers record while readers observe; TSan checks the locking, the asserts the ranges.
TEST(RouteSignals, ConcurrentRecordsAndReads) {
  RouteSignals signals(settings(milliseconds(100), milliseconds(80)));
  std::atomic<Duration::rep> clock{k_start.time_since_epoch().count()};
  auto now = [&clock] { return TimePoint(Duration(clock.load(std::memory_order_relaxed))); };
  constexpr int k_rounds = 20'000;
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&] {
      for (int i = 0; i < k_rounds; ++i) {
        signals.record_arrival(now());
        clock.fetch_add(microseconds(10).count(), std::memory_order_relaxed);
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < k_rounds; ++i) {
      signals.record_upstream_latency(microseconds(100 + (i % 50) * 100), now());
    }
  });
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      for (int i = 0; i < k_rounds; ++i) {
        for (float feature :
             signals.observe(GroupState{3, 8, 0, 0, milliseconds(1), milliseconds(5)}, now())) {
          if (!(feature >= 0.0F && feature <= 1.0F)) bad.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(signals.arrival_rate(now()), 0.0);
}

}  // namespace
}  // namespace levee::policy
