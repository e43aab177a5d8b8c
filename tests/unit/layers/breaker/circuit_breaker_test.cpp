#include "layers/breaker/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <latch>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "common/manual_clock.hpp"

namespace levee::layers::breaker {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using test::ManualClock;

using Transitions = std::vector<std::pair<State, State>>;

struct Fixture {
  explicit Fixture(BreakerSettings settings)
      : breaker(
            settings, [this](State from, State to) { transitions.emplace_back(from, to); },
            clock.function()) {}

  // Admits and records `n` calls with that outcome; each must be admitted.
  void calls(int n, Outcome outcome) {
    for (int i = 0; i < n; ++i) {
      Admission admission = breaker.try_acquire();
      ASSERT_TRUE(admission) << "call " << i;
      admission.ticket.record(outcome);
    }
  }

  // Opens the breaker with failures (settings with min_calls <= 4, threshold <= 1).
  void open() {
    calls(static_cast<int>(breaker.settings().min_calls), Outcome::failure);
    ASSERT_EQ(breaker.state(), State::open);
  }

  ManualClock clock;
  Transitions transitions;
  CircuitBreaker breaker;
};

BreakerSettings small(std::uint32_t min_calls = 4) {
  BreakerSettings settings;
  settings.min_calls = min_calls;
  return settings;
}

TEST(CircuitBreaker, StaysClosedBelowMinCallsEvenWhenEveryCallFails) {
  Fixture f(BreakerSettings{});  // min_calls 20
  f.calls(19, Outcome::failure);
  EXPECT_EQ(f.breaker.state(), State::closed);
  EXPECT_TRUE(f.breaker.try_acquire());
  EXPECT_EQ(f.breaker.opened_total(), 0u);
  EXPECT_TRUE(f.transitions.empty());
}

TEST(CircuitBreaker, OpensWhenTheFailureShareReachesTheThreshold) {
  Fixture f(small(10));
  f.calls(6, Outcome::success);
  f.calls(3, Outcome::failure);
  EXPECT_EQ(f.breaker.state(), State::closed);  // 9 calls: below min_calls
  f.calls(1, Outcome::failure);
  EXPECT_EQ(f.breaker.state(), State::closed);  // 4 of 10 failed: below 0.5
  f.calls(2, Outcome::failure);
  EXPECT_EQ(f.breaker.state(), State::open);  // 6 of 12 failed
  EXPECT_EQ(f.breaker.opened_total(), 1u);
  EXPECT_EQ(f.transitions, (Transitions{{State::closed, State::open}}));
}

TEST(CircuitBreaker, ASuccessThatReachesMinCallsOpensAFailingWindow) {
  Fixture f(small(4));
  f.calls(3, Outcome::failure);
  EXPECT_EQ(f.breaker.state(), State::closed);
  f.calls(1, Outcome::success);  // 3 of 4 failed
  EXPECT_EQ(f.breaker.state(), State::open);
}

TEST(CircuitBreaker, RefusesWhileOpenWithTheTimeLeftRoundedUp) {
  Fixture f(small());
  f.open();
  Admission refused = f.breaker.try_acquire();
  EXPECT_FALSE(refused);
  EXPECT_FALSE(refused.ticket.valid());
  EXPECT_EQ(refused.retry_after, seconds(5));
  f.clock.advance(milliseconds(1500));
  EXPECT_EQ(f.breaker.try_acquire().retry_after, seconds(4));  // 3.5s left
  f.clock.advance(milliseconds(3499));
  EXPECT_EQ(f.breaker.try_acquire().retry_after, seconds(1));  // 1ms left
  EXPECT_EQ(f.breaker.state(), State::open);
  EXPECT_EQ(f.breaker.rejected_total(), 3u);
}

TEST(CircuitBreaker, HalfOpensOnceOpenForHasPassed) {
  Fixture f(small());
  f.open();
  f.clock.advance(seconds(5));
  EXPECT_EQ(f.breaker.state(), State::open);  // no timer: the next call half-opens it
  Admission probe = f.breaker.try_acquire();
  ASSERT_TRUE(probe);
  EXPECT_TRUE(probe.ticket.probe());
  EXPECT_EQ(f.breaker.state(), State::half_open);
  EXPECT_EQ(f.transitions,
            (Transitions{{State::closed, State::open}, {State::open, State::half_open}}));
}

TEST(CircuitBreaker, LetsOnlyHalfOpenProbesThroughAtOnce) {
  BreakerSettings settings = small();
  settings.half_open_probes = 2;
  settings.successes_to_close = 3;
  Fixture f(settings);
  f.open();
  f.clock.advance(seconds(5));
  Admission first = f.breaker.try_acquire();
  Admission second = f.breaker.try_acquire();
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  Admission third = f.breaker.try_acquire();
  EXPECT_FALSE(third);
  EXPECT_EQ(third.retry_after, seconds(1));
  EXPECT_EQ(f.breaker.rejected_total(), 1u);
  first.ticket.record(Outcome::success);
  EXPECT_EQ(f.breaker.state(), State::half_open);  // 1 of 3 successes
  Admission fourth = f.breaker.try_acquire();      // the slot the first one gave back
  ASSERT_TRUE(fourth);
  EXPECT_FALSE(f.breaker.try_acquire());
}

TEST(CircuitBreaker, ProbeSuccessesCloseItWithAnEmptyWindow) {
  BreakerSettings settings = small();
  settings.successes_to_close = 2;
  Fixture f(settings);
  f.open();
  f.clock.advance(seconds(5));
  f.calls(1, Outcome::success);
  EXPECT_EQ(f.breaker.state(), State::half_open);
  f.calls(1, Outcome::success);
  EXPECT_EQ(f.breaker.state(), State::closed);
  // The four failures that opened it are forgotten: three more do not reach min_calls.
  f.calls(3, Outcome::failure);
  EXPECT_EQ(f.breaker.state(), State::closed);
  EXPECT_EQ(f.transitions, (Transitions{{State::closed, State::open},
                                        {State::open, State::half_open},
                                        {State::half_open, State::closed}}));
}

TEST(CircuitBreaker, AProbeFailureReopensForAFreshOpenFor) {
  Fixture f(small());
  f.open();
  f.clock.advance(seconds(7));
  f.calls(1, Outcome::failure);
  EXPECT_EQ(f.breaker.state(), State::open);
  EXPECT_EQ(f.breaker.opened_total(), 2u);
  EXPECT_EQ(f.breaker.try_acquire().retry_after, seconds(5));
  f.clock.advance(milliseconds(4999));
  EXPECT_FALSE(f.breaker.try_acquire());
  f.clock.advance(milliseconds(1));
  EXPECT_TRUE(f.breaker.try_acquire());
  EXPECT_EQ(f.transitions.back(), std::make_pair(State::open, State::half_open));
}

TEST(CircuitBreaker, OldBucketsFallOutOfTheWindow) {
  Fixture f(small());  // window 10s in buckets of 1s
  f.calls(3, Outcome::failure);
  f.clock.advance(seconds(10));
  f.calls(1, Outcome::failure);  // the first three are out of the window
  EXPECT_EQ(f.breaker.state(), State::closed);
  f.clock.advance(seconds(9));
  f.calls(2, Outcome::failure);  // one window: 1 + 2 failures
  EXPECT_EQ(f.breaker.state(), State::closed);
  f.calls(1, Outcome::failure);
  EXPECT_EQ(f.breaker.state(), State::open);
}

TEST(CircuitBreaker, FailuresSpreadOverOneWindowAddUp) {
  Fixture f(small());
  for (int i = 0; i < 4; ++i) {
    f.calls(1, Outcome::failure);
    f.clock.advance(seconds(2));
  }
  EXPECT_EQ(f.breaker.state(), State::open);
}

TEST(CircuitBreaker, AnAbandonedProbeGivesItsSlotBack) {
  Fixture f(small());
  f.open();
  f.clock.advance(seconds(5));
  {
    Admission probe = f.breaker.try_acquire();
    ASSERT_TRUE(probe);
    EXPECT_FALSE(f.breaker.try_acquire());
  }
  EXPECT_EQ(f.breaker.state(), State::half_open);
  Admission next = f.breaker.try_acquire();
  ASSERT_TRUE(next);
  next.ticket.record(Outcome::success);
  EXPECT_EQ(f.breaker.state(), State::closed);
}

TEST(CircuitBreaker, AnAbandonedCallCountsNothing) {
  Fixture f(small(1));
  {
    Admission dropped = f.breaker.try_acquire();
  }
  EXPECT_EQ(f.breaker.state(), State::closed);
  f.calls(1, Outcome::success);
  EXPECT_EQ(f.breaker.state(), State::closed);
}

TEST(CircuitBreaker, AMovedTicketRecordsOnce) {
  Fixture f(small(1));
  Admission admission = f.breaker.try_acquire();
  Ticket ticket = std::move(admission.ticket);
  EXPECT_FALSE(admission.ticket.valid());  // NOLINT(bugprone-use-after-move): tested
  admission.ticket.record(Outcome::failure);
  EXPECT_EQ(f.breaker.state(), State::closed);
  ticket.record(Outcome::failure);
  EXPECT_FALSE(ticket.valid());
  EXPECT_EQ(f.breaker.state(), State::open);
  ticket.record(Outcome::failure);
  EXPECT_EQ(f.breaker.opened_total(), 1u);
}

TEST(CircuitBreaker, AnOutcomeFromAnEarlierStateCountsNothing) {
  Fixture f(small());
  Admission slow = f.breaker.try_acquire();  // issued while closed, answered much later
  ASSERT_TRUE(slow);
  f.open();
  f.clock.advance(seconds(5));
  Admission probe = f.breaker.try_acquire();
  ASSERT_TRUE(probe);
  slow.ticket.record(Outcome::success);  // neither closes it nor frees the probe's slot
  EXPECT_EQ(f.breaker.state(), State::half_open);
  EXPECT_FALSE(f.breaker.try_acquire());
  probe.ticket.record(Outcome::success);
  EXPECT_EQ(f.breaker.state(), State::closed);
}

TEST(CircuitBreaker, RejectsSettingsItCannotRunWith) {
  auto make = [](auto change) {
    BreakerSettings settings;
    change(settings);
    return CircuitBreaker(settings);
  };
  EXPECT_THROW((void)make([](BreakerSettings& s) { s.failure_threshold = 0; }),
               std::invalid_argument);
  EXPECT_THROW((void)make([](BreakerSettings& s) { s.failure_threshold = 1.5; }),
               std::invalid_argument);
  EXPECT_THROW((void)make([](BreakerSettings& s) { s.window = Duration(5); }),
               std::invalid_argument);
  EXPECT_THROW((void)make([](BreakerSettings& s) { s.open_for = -seconds(1); }),
               std::invalid_argument);
  EXPECT_THROW((void)make([](BreakerSettings& s) { s.half_open_probes = 0; }),
               std::invalid_argument);
  EXPECT_THROW((void)make([](BreakerSettings& s) { s.successes_to_close = 0; }),
               std::invalid_argument);
  EXPECT_NO_THROW((void)make([](BreakerSettings& s) { s.failure_threshold = 1.0; }));
}

TEST(CircuitBreaker, StateNamesForLogsAndMetrics) {
  EXPECT_EQ(to_string(State::closed), "closed");
  EXPECT_EQ(to_string(State::open), "open");
  EXPECT_EQ(to_string(State::half_open), "half_open");
}

// Several threads admit, record, abandon and move time at once. Under TSan this checks the
// locking: first a calm stretch where every call succeeds, so the breaker stays closed and
// only its mutex orders the threads' records (transitions would add other orderings that
// hide a missing lock), then a stormy one that goes through every state many times. Everywhere
// it checks that the observer sees one unbroken chain of transitions (reports are serialised
// and in order) that ends in the breaker's state.
TEST(CircuitBreaker, ManyThreadsKeepOneConsistentStory) {
  BreakerSettings settings;
  settings.window = milliseconds(50);
  settings.open_for = milliseconds(5);
  settings.min_calls = 5;
  settings.half_open_probes = 2;
  settings.successes_to_close = 2;
  ManualClock clock;
  Transitions transitions;  // written only by the observer, which runs one call at a time
  std::atomic<int> observing{0};
  std::atomic<bool> overlapped{false};
  CircuitBreaker breaker(
      settings,
      [&](State from, State to) {
        if (observing.fetch_add(1) != 0) overlapped = true;
        (void)breaker.state();  // allowed from the observer
        transitions.emplace_back(from, to);
        observing.fetch_sub(1);
      },
      clock.function());

  constexpr int k_threads = 4;
  constexpr int k_calm = 2000;
  constexpr int k_iterations = 20000;
  std::latch start(k_threads);
  std::vector<std::thread> threads;
  threads.reserve(k_threads);
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      std::uint32_t random = 2654435761U * static_cast<std::uint32_t>(t + 1);
      start.arrive_and_wait();
      for (int i = 0; i < k_calm; ++i) {
        if (t == 0) clock.advance(std::chrono::microseconds(50));
        breaker.try_acquire().ticket.record(Outcome::success);
      }
      for (int i = 0; i < k_iterations; ++i) {
        random = random * 1664525U + 1013904223U;
        if (t == 0) clock.advance(std::chrono::microseconds(50));
        Admission admission = breaker.try_acquire();
        if (!admission) continue;
        switch ((random >> 16) % 5) {
          case 0:
          case 1:
            admission.ticket.record(Outcome::failure);
            break;
          case 2:
          case 3:
            admission.ticket.record(Outcome::success);
            break;
          default:
            break;  // abandoned
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_FALSE(overlapped.load());
  ASSERT_FALSE(transitions.empty());
  EXPECT_EQ(transitions.front().first, State::closed);
  for (std::size_t i = 1; i < transitions.size(); ++i) {
    ASSERT_EQ(transitions[i].first, transitions[i - 1].second) << "transition " << i;
  }
  EXPECT_EQ(transitions.back().second, breaker.state());
  std::array<std::uint64_t, 3> entered{};  // by State
  for (const auto& [from, to] : transitions) ++entered[static_cast<std::size_t>(to)];
  EXPECT_EQ(entered[static_cast<std::size_t>(State::open)], breaker.opened_total());
  // Every kind of transition happened. How often depends on how the threads interleave: under
  // AddressSanitizer on a loaded 2-core machine they can run nearly in turn, and closes were
  // seen as few as 5 times (2 runs in 30 failed a bound of 10), so the bound is "at all".
  EXPECT_GT(entered[static_cast<std::size_t>(State::half_open)], 0u);
  EXPECT_GT(entered[static_cast<std::size_t>(State::closed)], 0u);
  EXPECT_GT(breaker.rejected_total(), 0u);
}

}  // namespace
}  // namespace levee::layers::breaker
