#pragma once
// The circuit breaker of one upstream (DESIGN.md "Cache and circuit breaker"): it stops
// calling an upstream that fails, and lets a few probes through later to see if it is back.
//
// - closed: every call goes through. Outcomes are counted in a rolling window of
//   k_window_buckets time buckets (window / k_window_buckets each, fixed memory), so the
//   effective window is between 0.9 and 1.0 times `window`. When the window holds at least
//   `min_calls` calls and failures / calls >= `failure_threshold`, it opens.
// - open: every try_acquire() is refused (with the time left, for Retry-After) until
//   `open_for` has passed since it opened. The first try_acquire() after that half-opens it.
//   There is no timer: with no traffic, state() stays `open` past open_for.
// - half_open: at most `half_open_probes` probes are in flight at once; the others are
//   refused (retry_after 1s). A probe failure re-opens it (a fresh open_for, counted in
//   opened_total); `successes_to_close` probe successes close it with an empty window.
//
// Admission is a move-only Ticket that reports the call's outcome once (Ticket::record). A
// ticket destroyed without a record (the request was cancelled) counts nothing, and gives
// its half-open probe slot back. A ticket recorded after the breaker changed state since it
// was issued counts nothing either: its outcome belongs to a state that is gone (a slow
// call from before the breaker opened must not keep it open, nor close it).
//
// Threading: one breaker per upstream, shared by every worker thread; every member is
// thread-safe. try_acquire() takes no lock while closed, nor while open before open_for
// has passed (the outage path); record() and state changes take one mutex. The breaker
// must outlive its tickets.
//
// The transition observer runs on the thread that made the transition, after the mutex is
// released, one call at a time and in transition order. It must not call try_acquire() or
// record a ticket of this breaker (it may read state() and the counters), and must not throw.
// Keep it short (a log line, a gauge): the next transition waits for it.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>
#include <type_traits>

#include "core/clock.hpp"

namespace levee::layers::breaker {

using Duration = std::chrono::nanoseconds;
using TimePoint = core::Clock::time_point;
using core::NowFunction;
static_assert(std::is_same_v<TimePoint::duration, Duration>);

struct BreakerSettings {
  double failure_threshold = 0.5;  // share of failed calls in the window that opens it
  Duration window = std::chrono::seconds(10);
  Duration open_for = std::chrono::seconds(5);
  std::uint32_t min_calls = 20;          // calls in the window below which it never opens
  std::uint32_t half_open_probes = 1;    // probes allowed in flight at once while half-open
  std::uint32_t successes_to_close = 1;  // probe successes that close it
  bool count_5xx = true;                 // upstream 5xx answers count as failures
};

enum class State : std::uint8_t { closed, open, half_open };
enum class Outcome : std::uint8_t { success, failure };

[[nodiscard]] std::string_view to_string(State state) noexcept;

class CircuitBreaker;

// Leave to call the upstream once; reports that call's outcome to the breaker.
class Ticket {
 public:
  Ticket() = default;
  Ticket(Ticket&& other) noexcept;
  Ticket& operator=(Ticket&& other) noexcept;
  Ticket(const Ticket&) = delete;
  Ticket& operator=(const Ticket&) = delete;
  ~Ticket();

  // Reports the outcome; the ticket is empty afterwards. Does nothing on an empty ticket.
  void record(Outcome outcome);

  [[nodiscard]] bool valid() const noexcept { return breaker_ != nullptr; }
  // A half-open probe (holds one of the half_open_probes slots).
  [[nodiscard]] bool probe() const noexcept { return probe_; }

 private:
  friend class CircuitBreaker;
  Ticket(CircuitBreaker* breaker, std::uint64_t phase, bool probe) noexcept
      : breaker_(breaker), phase_(phase), probe_(probe) {}
  void release() noexcept;

  CircuitBreaker* breaker_ = nullptr;  // null: empty (recorded, moved from, refused)
  std::uint64_t phase_ = 0;            // the breaker's phase when issued
  bool probe_ = false;
};

// What try_acquire() answers: a valid ticket, or refused with the seconds to wait.
struct Admission {
  Ticket ticket;
  std::chrono::seconds retry_after{0};  // refused: >= 1s; admitted: 0

  [[nodiscard]] bool admitted() const noexcept { return ticket.valid(); }
  explicit operator bool() const noexcept { return admitted(); }
};

class CircuitBreaker {
 public:
  using Observer = std::function<void(State from, State to)>;

  // Throws std::invalid_argument on settings no breaker can run with (start-up only):
  // failure_threshold outside (0, 1], window shorter than k_window_buckets ns, negative
  // open_for, zero half_open_probes or successes_to_close.
  explicit CircuitBreaker(BreakerSettings settings, Observer observer = {},
                          NowFunction now = core::Clock::now);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  [[nodiscard]] Admission try_acquire();

  [[nodiscard]] State state() const noexcept;
  [[nodiscard]] const BreakerSettings& settings() const noexcept { return settings_; }
  // Times it went to open, from closed or from half_open.
  [[nodiscard]] std::uint64_t opened_total() const noexcept {
    return opened_total_.load(std::memory_order_relaxed);
  }
  // Calls refused, while open or with every half-open probe slot taken.
  [[nodiscard]] std::uint64_t rejected_total() const noexcept {
    return rejected_total_.load(std::memory_order_relaxed);
  }

  static constexpr std::size_t k_window_buckets = 10;

 private:
  friend class Ticket;

  struct Bucket {
    std::int64_t tick = 0;  // time since the clock's epoch, in bucket_width_ slices
    std::uint32_t calls = 0;
    std::uint32_t failures = 0;
  };

  struct Transition {
    State from;
    State to;
  };

  // A state change to report once the mutex is released; `notify` keeps reports in order.
  struct PendingReport {
    std::unique_lock<std::mutex> notify;
    Transition transition{};
  };

  void record(const Ticket& ticket, Outcome outcome);
  void abandon(const Ticket& ticket) noexcept;

  // Under mutex_.
  [[nodiscard]] Transition enter(State to, TimePoint now);
  void count(Outcome outcome, TimePoint now);
  [[nodiscard]] bool should_open(TimePoint now) const;
  [[nodiscard]] std::chrono::seconds open_time_left(TimePoint now) const noexcept;
  [[nodiscard]] Admission refuse(std::chrono::seconds retry_after) noexcept;

  // Takes the notify lock while mutex_ is still held, so reports keep transition order.
  [[nodiscard]] PendingReport queue_report(Transition transition);
  void deliver(PendingReport report) noexcept;

  const BreakerSettings settings_;
  const Duration bucket_width_;
  const Observer observer_;
  const NowFunction now_;

  // phase = (generation << 2) | state. Written under mutex_; read without it by
  // try_acquire's fast paths and state(). The generation changes at every transition, so a
  // ticket knows whether the state it was issued in is still the current one.
  std::atomic<std::uint64_t> phase_{static_cast<std::uint64_t>(State::closed)};
  // While open: when it may half-open (clock ticks). Written under mutex_ before phase_.
  std::atomic<TimePoint::rep> open_until_{0};
  std::atomic<std::uint64_t> opened_total_{0};
  std::atomic<std::uint64_t> rejected_total_{0};

  std::mutex mutex_;
  std::array<Bucket, k_window_buckets> buckets_{};  // closed only
  std::uint32_t probes_in_flight_ = 0;              // half_open only
  std::uint32_t probe_successes_ = 0;               // half_open only

  std::mutex notify_mutex_;  // serialises observer calls; taken after mutex_, never before
};

}  // namespace levee::layers::breaker
