#pragma once
// A steady clock that moves only when the test says so, for the parts of levee that take
// their time from a `std::function<time_point()>` (the flush policies, the circuit breaker).
// Atomic, so that several threads may read and move it.

#include <atomic>
#include <chrono>
#include <functional>

namespace levee::test {

class ManualClock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::nanoseconds;

  [[nodiscard]] TimePoint now() const {
    return TimePoint(Duration(ticks_.load(std::memory_order_relaxed)));
  }
  void advance(Duration by) { ticks_.fetch_add(by.count(), std::memory_order_relaxed); }
  // Reads the clock; the clock must outlive it.
  [[nodiscard]] std::function<TimePoint()> function() const {
    return [this] { return now(); };
  }

 private:
  // An hour in, so that "an hour ago" is still a valid time point.
  std::atomic<Duration::rep> ticks_{Duration(std::chrono::hours(1)).count()};
};

}  // namespace levee::test
