#include "policy/adaptive_policy.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

namespace levee::policy {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Time moves only when the test says so; atomic so that several threads may read and move it.
class ManualClock {
 public:
  [[nodiscard]] TimePoint now() const {
    return TimePoint(Duration(ticks_.load(std::memory_order_relaxed)));
  }
  void advance(Duration by) { ticks_.fetch_add(by.count(), std::memory_order_relaxed); }
  [[nodiscard]] AdaptivePolicy::NowFunction function() const {
    return [this] { return now(); };
  }

 private:
  std::atomic<Duration::rep> ticks_{Duration(hours(1)).count()};
};

GroupState group(std::size_t size, Duration age, Duration max_wait = milliseconds(50),
                 std::size_t cap = 1000) {
  GroupState g;
  g.size = size;
  g.size_cap = cap;
  g.age = age;
  g.max_wait = max_wait;
  return g;
}

struct Route {
  explicit Route(AdaptiveSettings settings = {})
      : signals(std::make_shared<RouteSignals>(SignalSettings{})),
        policy(signals, settings, clock.function()) {}

  // Steady arrivals at `per_second` for `span`; the clock ends at the last one.
  void arrivals(double per_second, Duration span) {
    const auto gap =
        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(1.0 / per_second));
    for (Duration elapsed{0}; elapsed < span; elapsed += gap) {
      clock.advance(gap);
      signals->record_arrival(clock.now());
    }
  }
  void upstream_calls(Duration latency, int calls = 100) {
    for (int i = 0; i < calls; ++i) signals->record_upstream_latency(latency, clock.now());
  }
  [[nodiscard]] AdaptiveVerdict verdict(const GroupState& g) const {
    return AdaptivePolicy::evaluate(g, signals->snapshot(clock.now()), policy.settings());
  }

  ManualClock clock;
  std::shared_ptr<RouteSignals> signals;
  AdaptivePolicy policy;
};

TEST(AdaptivePolicy, IsNamedAdaptive) {
  Route route;
  EXPECT_EQ(route.policy.name(), "adaptive");
}

TEST(AdaptivePolicy, FlushesAtOnceWithNoMeasuredTraffic) {
  Route route;
  EXPECT_EQ(route.verdict(group(1, Duration::zero())), AdaptiveVerdict::no_traffic);
  EXPECT_EQ(route.policy.decide(group(1, Duration::zero())), FlushReason::policy);
}

TEST(AdaptivePolicy, FlushesAtOnceOnSparseTraffic) {
  Route route;
  route.arrivals(2.0, seconds(5));  // lambda·L = 2/s · 20 ms = 0.04
  route.upstream_calls(milliseconds(20));
  EXPECT_EQ(route.verdict(group(1, Duration::zero())), AdaptiveVerdict::filled);
  EXPECT_EQ(route.policy.decide(group(1, Duration::zero())), FlushReason::policy);
}

TEST(AdaptivePolicy, WaitsOnDenseTraffic) {
  Route route;
  route.arrivals(2000.0, seconds(5));  // lambda·L = 2000/s · 50 ms = 100
  route.upstream_calls(milliseconds(50));
  for (std::size_t n : {1U, 10U, 50U, 90U}) {
    EXPECT_EQ(route.verdict(group(n, milliseconds(2))), AdaptiveVerdict::wait) << n;
    EXPECT_EQ(route.policy.decide(group(n, milliseconds(2))), std::nullopt) << n;
  }
}

TEST(AdaptivePolicy, FlushesOnceTheGroupHoldsOneUpstreamCallsWorthOfArrivals) {
  Route route;
  route.arrivals(1000.0, seconds(5));
  route.upstream_calls(milliseconds(40));
  // p99 reported as its bucket's upper bound: L in [40, 47.6] ms, lambda·L in [40, 48].
  const double latency =
      std::chrono::duration<double>(*route.signals->upstream_p99(route.clock.now())).count();
  const double target = route.signals->arrival_rate(route.clock.now()) * latency;
  ASSERT_GT(target, 39.0);
  ASSERT_LT(target, 49.0);
  const auto below = static_cast<std::size_t>(target) - 1;
  const auto above = static_cast<std::size_t>(target) + 1;
  EXPECT_EQ(route.verdict(group(below, milliseconds(5))), AdaptiveVerdict::wait);
  EXPECT_EQ(route.verdict(group(above, milliseconds(5))), AdaptiveVerdict::filled);
  EXPECT_EQ(route.policy.decide(group(above, milliseconds(5))), FlushReason::policy);
}

TEST(AdaptivePolicy, FillFactorScalesTheTarget) {
  AdaptiveSettings patient;
  patient.fill_factor = 2.0;
  Route route(patient);
  route.arrivals(1000.0, seconds(5));
  route.upstream_calls(milliseconds(40));
  EXPECT_EQ(route.verdict(group(60, milliseconds(5))), AdaptiveVerdict::wait);
  EXPECT_EQ(route.verdict(group(100, milliseconds(5))), AdaptiveVerdict::filled);
}

TEST(AdaptivePolicy, FlushesWhenTheNextArrivalIsNotExpectedInTime) {
  Route route;
  route.arrivals(10.0, seconds(5));  // one every 100 ms; lambda·L = 10 · 0.5 s = 5
  route.upstream_calls(milliseconds(500));
  EXPECT_EQ(route.verdict(group(1, Duration::zero(), milliseconds(50))), AdaptiveVerdict::too_late);
  EXPECT_EQ(route.verdict(group(1, Duration::zero(), seconds(1))), AdaptiveVerdict::wait);
  EXPECT_EQ(route.verdict(group(1, milliseconds(850), seconds(1))), AdaptiveVerdict::wait);
  EXPECT_EQ(route.verdict(group(1, milliseconds(950), seconds(1))), AdaptiveVerdict::too_late);
  EXPECT_EQ(route.verdict(group(1, seconds(2), seconds(1))), AdaptiveVerdict::too_late);
  EXPECT_EQ(route.verdict(group(1, Duration::zero(), Duration::zero())), AdaptiveVerdict::too_late);
}

TEST(AdaptivePolicy, WithoutAMeasuredCallTheLatencyIsMaxWait) {
  Route route;
  route.arrivals(1000.0, seconds(5));  // no upstream call: L = 20 ms, lambda·L = 20
  EXPECT_EQ(route.verdict(group(15, milliseconds(1), milliseconds(20))), AdaptiveVerdict::wait);
  EXPECT_EQ(route.verdict(group(25, milliseconds(1), milliseconds(20))), AdaptiveVerdict::filled);
}

TEST(AdaptivePolicy, TickBetweenArrivalsFlushesOnceTrafficStops) {
  Route route;
  route.arrivals(500.0, seconds(5));  // lambda·L = 500 · 58 ms (50 ms's bucket) = 29
  route.upstream_calls(milliseconds(50));
  const GroupState waiting = group(10, milliseconds(5), seconds(10));
  const TimePoint last = route.clock.now();
  EXPECT_EQ(route.policy.decide_at(waiting, last), std::nullopt);
  // No arrival for two seconds: the rate has decayed to 500·e^-2, the target to ~4 < 10.
  EXPECT_EQ(route.policy.decide_at(waiting, last + seconds(2)), FlushReason::policy);
  // decide() reads the policy's clock.
  EXPECT_EQ(route.policy.decide(waiting), std::nullopt);
  route.clock.advance(seconds(2));
  EXPECT_EQ(route.policy.decide(waiting), FlushReason::policy);
}

TEST(AdaptivePolicy, EmptyGroupWaits) {
  Route route;
  EXPECT_EQ(route.policy.decide(group(0, milliseconds(1))), std::nullopt);
}

TEST(AdaptivePolicy, IsMonotoneInSizeAndAge) {
  Route route;
  route.arrivals(300.0, seconds(5));
  route.upstream_calls(milliseconds(30));
  for (Duration age = Duration::zero(); age <= milliseconds(60); age += milliseconds(3)) {
    bool flushed = false;
    for (std::size_t n = 1; n <= 40; ++n) {
      const bool flush = route.policy.decide_at(group(n, age), route.clock.now()).has_value();
      EXPECT_TRUE(flush || !flushed) << "n " << n << " age " << age.count();
      flushed = flush;
    }
  }
  for (std::size_t n = 1; n <= 40; ++n) {
    bool flushed = false;
    for (Duration age = Duration::zero(); age <= milliseconds(60); age += milliseconds(3)) {
      const bool flush = route.policy.decide_at(group(n, age), route.clock.now()).has_value();
      EXPECT_TRUE(flush || !flushed) << "n " << n << " age " << age.count();
      flushed = flush;
    }
  }
}

TEST(AdaptivePolicy, OnlyEverAsksForAPolicyFlush) {
  for (double rate : {0.0, 0.5, 20.0, 400.0, 20000.0}) {
    Route route;
    if (rate > 0.0) route.arrivals(rate, seconds(3));
    for (Duration latency : std::initializer_list<Duration>{Duration::zero(), milliseconds(1),
                                                            milliseconds(80), seconds(5)}) {
      route.upstream_calls(latency, 3);
      for (std::size_t n : {0U, 1U, 2U, 7U, 64U, 5000U}) {
        for (Duration age :
             std::initializer_list<Duration>{Duration::zero(), milliseconds(10), seconds(1)}) {
          for (Duration max_wait :
               std::initializer_list<Duration>{Duration::zero(), milliseconds(10), seconds(2)}) {
            const auto decision = route.policy.decide(group(n, age, max_wait));
            EXPECT_TRUE(!decision || *decision == FlushReason::policy);
          }
        }
      }
    }
  }
}

TEST(AdaptivePolicy, RefusesWhatItCannotRunWith) {
  auto signals = std::make_shared<RouteSignals>();
  EXPECT_THROW(AdaptivePolicy(nullptr), std::invalid_argument);
  AdaptiveSettings bad;
  bad.fill_factor = 0.0;
  EXPECT_THROW(AdaptivePolicy(signals, bad), std::invalid_argument);
  bad.fill_factor = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(AdaptivePolicy(signals, bad), std::invalid_argument);
  EXPECT_THROW(AdaptivePolicy(signals, {}, nullptr), std::invalid_argument);
}

TEST(AdaptivePolicy, VerdictsHaveNames) {
  EXPECT_EQ(to_string(AdaptiveVerdict::wait), "wait");
  EXPECT_EQ(to_string(AdaptiveVerdict::no_traffic), "no_traffic");
  EXPECT_EQ(to_string(AdaptiveVerdict::filled), "filled");
  EXPECT_EQ(to_string(AdaptiveVerdict::too_late), "too_late");
}

// Workers record and decide through one shared policy while the clock moves; for TSan.
TEST(AdaptivePolicy, ConcurrentDecisionsWhileSignalsChange) {
  Route route;
  constexpr int k_rounds = 20'000;
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < k_rounds; ++i) {
        route.clock.advance(microseconds(20));
        route.signals->record_arrival(route.clock.now());
        if (i % 8 == w) {
          route.signals->record_upstream_latency(milliseconds(1 + i % 30), route.clock.now());
        }
        const auto decision = route.policy.decide(
            group(1 + static_cast<std::size_t>(i % 50), microseconds(i % 5000)));
        if (decision && *decision != FlushReason::policy) bad.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace levee::policy
