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

#include "common/manual_clock.hpp"

namespace levee::policy {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

using test::ManualClock;

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
  route.arrivals(2.0, seconds(5));  // the next arrival is due in 500 ms, max_wait is 50 ms
  EXPECT_EQ(route.verdict(group(1, Duration::zero())), AdaptiveVerdict::too_late);
  EXPECT_EQ(route.policy.decide(group(1, Duration::zero())), FlushReason::policy);
}

// The size at which `evaluate` first says enough, at age `age`, on a route at `rate`.
std::size_t first_enough(Route& route, Duration age, Duration max_wait, std::size_t cap) {
  for (std::size_t n = 1; n < cap; ++n) {
    if (route.verdict(group(n, age, max_wait, cap)) == AdaptiveVerdict::enough) return n;
  }
  return cap;
}

TEST(AdaptivePolicy, DenseTrafficFillsGroupsToWhereWaitingStopsPaying) {
  Route route;
  route.arrivals(2000.0, seconds(5));
  const double rate = route.signals->arrival_rate(route.clock.now());
  ASSERT_NEAR(rate, 2000.0, 60.0);
  // Arrivals keep up with age (n = rate·a): 1/n - 1/(n + rate·(W - a)) <= 0.0075 first holds
  // at about n = 1/(0.0075 + 1/(rate·W)) = 57 members (28 ms) for W = 50 ms.
  std::size_t went_at = 0;
  for (std::size_t n = 1; n < 128 && went_at == 0; ++n) {
    const auto age = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(n / rate));
    if (route.verdict(group(n, age, milliseconds(50), 128)) == AdaptiveVerdict::enough) {
      went_at = n;
    }
  }
  EXPECT_GE(went_at, 54u);
  EXPECT_LE(went_at, 60u);
  for (std::size_t n : {1U, 10U, 40U}) {
    EXPECT_EQ(route.policy.decide(group(n, milliseconds(n / 2), milliseconds(50), 128)),
              std::nullopt)
        << n;
  }
}

TEST(AdaptivePolicy, AGroupWhoseBurstIsOverGoesBeforeItsWindowEnds) {
  Route route;
  route.arrivals(1000.0, seconds(5));  // seed 000's waves: 50 every 50 ms
  // 50 members at 1 ms: the window could still bring 49, which is worth waiting for.
  EXPECT_EQ(route.verdict(group(50, milliseconds(1), milliseconds(50), 128)),
            AdaptiveVerdict::wait);
  // Nobody else came: once (W - a) could bring at most 30 more, 1/50 - 1/80 = 0.0075.
  EXPECT_EQ(route.verdict(group(50, milliseconds(19), milliseconds(50), 128)),
            AdaptiveVerdict::wait);
  EXPECT_EQ(route.verdict(group(50, milliseconds(21), milliseconds(50), 128)),
            AdaptiveVerdict::enough);
}

TEST(AdaptivePolicy, ReductionSlackTradesReductionForLatency) {
  AdaptiveSettings strict;
  strict.reduction_slack = 0.001;
  AdaptiveSettings loose;
  loose.reduction_slack = 0.05;
  Route strict_route(strict);
  Route loose_route(loose);
  strict_route.arrivals(2000.0, seconds(5));
  loose_route.arrivals(2000.0, seconds(5));
  const std::size_t strict_at = first_enough(strict_route, milliseconds(5), milliseconds(50), 1000);
  const std::size_t loose_at = first_enough(loose_route, milliseconds(5), milliseconds(50), 1000);
  EXPECT_LT(loose_at, strict_at);
  EXPECT_LE(loose_at, 20u);   // 1/n - 1/(n + 90) <= 0.05: n = 15
  EXPECT_GE(strict_at, 60u);  // 1/n - 1/(n + 90) <= 0.001: n = 77
}

TEST(AdaptivePolicy, TheSizeCapBoundsWhatWaitingCanBring) {
  Route route;
  route.arrivals(2000.0, seconds(5));
  // Without a cap the window could bring 90 more; with a cap of 12 it can bring 2.
  EXPECT_EQ(route.verdict(group(10, milliseconds(5), milliseconds(50), 0)), AdaptiveVerdict::wait);
  EXPECT_EQ(route.verdict(group(10, milliseconds(5), milliseconds(50), 12)),
            AdaptiveVerdict::wait);  // 1/10 - 1/12 = 0.0167
  EXPECT_EQ(route.verdict(group(100, milliseconds(5), milliseconds(50), 101)),
            AdaptiveVerdict::enough);  // 1/100 - 1/101 = 0.0001
}

TEST(AdaptivePolicy, FlushesWhenTheNextArrivalIsNotExpectedInTime) {
  Route route;
  route.arrivals(10.0, seconds(5));  // one every 100 ms
  EXPECT_EQ(route.verdict(group(1, Duration::zero(), milliseconds(50))), AdaptiveVerdict::too_late);
  EXPECT_EQ(route.verdict(group(1, Duration::zero(), seconds(1))), AdaptiveVerdict::wait);
  EXPECT_EQ(route.verdict(group(1, milliseconds(850), seconds(1))), AdaptiveVerdict::wait);
  EXPECT_EQ(route.verdict(group(1, milliseconds(950), seconds(1))), AdaptiveVerdict::too_late);
  EXPECT_EQ(route.verdict(group(1, seconds(2), seconds(1))), AdaptiveVerdict::too_late);
  EXPECT_EQ(route.verdict(group(1, Duration::zero(), Duration::zero())), AdaptiveVerdict::too_late);
}

TEST(AdaptivePolicy, TickBetweenArrivalsFlushesOnceTrafficStops) {
  Route route;
  route.arrivals(500.0, seconds(5));
  const GroupState waiting = group(10, milliseconds(5), seconds(10));
  const TimePoint last = route.clock.now();
  EXPECT_EQ(route.policy.decide_at(waiting, last), std::nullopt);
  // No arrival for 20 seconds: the rate has decayed to 500·e^-20, the next arrival is not
  // expected within the window.
  EXPECT_EQ(route.policy.decide_at(waiting, last + seconds(20)), FlushReason::policy);
  // decide() reads the policy's clock.
  EXPECT_EQ(route.policy.decide(waiting), std::nullopt);
  route.clock.advance(seconds(20));
  EXPECT_EQ(route.policy.decide(waiting), FlushReason::policy);
}

TEST(AdaptivePolicy, EmptyGroupWaits) {
  Route route;
  EXPECT_EQ(route.policy.decide(group(0, milliseconds(1))), std::nullopt);
}

TEST(AdaptivePolicy, IsMonotoneInSizeAndAge) {
  Route route;
  route.arrivals(300.0, seconds(5));
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
  bad.reduction_slack = 0.0;
  EXPECT_THROW(AdaptivePolicy(signals, bad), std::invalid_argument);
  bad.reduction_slack = 1.0;
  EXPECT_THROW(AdaptivePolicy(signals, bad), std::invalid_argument);
  bad.reduction_slack = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(AdaptivePolicy(signals, bad), std::invalid_argument);
  EXPECT_THROW(AdaptivePolicy(signals, {}, nullptr), std::invalid_argument);
}

TEST(AdaptivePolicy, VerdictsHaveNames) {
  EXPECT_EQ(to_string(AdaptiveVerdict::wait), "wait");
  EXPECT_EQ(to_string(AdaptiveVerdict::no_traffic), "no_traffic");
  EXPECT_EQ(to_string(AdaptiveVerdict::enough), "enough");
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
