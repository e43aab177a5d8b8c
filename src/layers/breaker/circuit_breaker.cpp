#include "layers/breaker/circuit_breaker.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <utility>

namespace levee::layers::breaker {
namespace {

constexpr std::uint64_t k_state_bits = 2;
constexpr std::uint64_t k_state_mask = (1U << k_state_bits) - 1;

[[nodiscard]] State state_of(std::uint64_t phase) noexcept {
  return static_cast<State>(phase & k_state_mask);
}

[[nodiscard]] std::uint64_t next_phase(std::uint64_t phase, State to) noexcept {
  return (((phase >> k_state_bits) + 1) << k_state_bits) | static_cast<std::uint64_t>(to);
}

[[nodiscard]] std::int64_t tick_of(TimePoint now, Duration width) noexcept {
  return std::chrono::duration_cast<Duration>(now.time_since_epoch()) / width;
}

BreakerSettings checked(BreakerSettings settings) {
  if (!(settings.failure_threshold > 0.0 && settings.failure_threshold <= 1.0)) {
    throw std::invalid_argument("breaker failure_threshold must be in (0, 1]");
  }
  if (settings.window < Duration(CircuitBreaker::k_window_buckets)) {
    throw std::invalid_argument("breaker window is too short");
  }
  if (settings.open_for < Duration::zero()) {
    throw std::invalid_argument("breaker open_for must not be negative");
  }
  if (settings.half_open_probes == 0) {
    throw std::invalid_argument("breaker half_open_probes must be at least 1");
  }
  if (settings.successes_to_close == 0) {
    throw std::invalid_argument("breaker successes_to_close must be at least 1");
  }
  return settings;
}

}  // namespace

std::string_view to_string(State state) noexcept {
  switch (state) {
    case State::closed:
      return "closed";
    case State::open:
      return "open";
    case State::half_open:
      return "half_open";
  }
  return "unknown";
}

// Ticket ---------------------------------------------------------------------------------

Ticket::Ticket(Ticket&& other) noexcept
    : breaker_(std::exchange(other.breaker_, nullptr)),
      phase_(other.phase_),
      probe_(other.probe_) {}

Ticket& Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    breaker_ = std::exchange(other.breaker_, nullptr);
    phase_ = other.phase_;
    probe_ = other.probe_;
  }
  return *this;
}

Ticket::~Ticket() { release(); }

void Ticket::record(Outcome outcome) {
  if (breaker_ == nullptr) return;
  CircuitBreaker* breaker = std::exchange(breaker_, nullptr);
  breaker->record(*this, outcome);
}

void Ticket::release() noexcept {
  if (breaker_ == nullptr) return;
  std::exchange(breaker_, nullptr)->abandon(*this);
}

// CircuitBreaker -------------------------------------------------------------------------

CircuitBreaker::CircuitBreaker(BreakerSettings settings, Observer observer, NowFunction now)
    : settings_(checked(settings)),
      bucket_width_(settings_.window / k_window_buckets),
      observer_(std::move(observer)),
      now_(std::move(now)) {}

State CircuitBreaker::state() const noexcept {
  return state_of(phase_.load(std::memory_order_acquire));
}

Admission CircuitBreaker::try_acquire() {
  const std::uint64_t seen = phase_.load(std::memory_order_acquire);
  if (state_of(seen) == State::closed) return Admission{Ticket(this, seen, false), {}};
  const TimePoint now = now_();
  // The outage path: refused without the mutex until open_for has passed.
  if (state_of(seen) == State::open &&
      now.time_since_epoch().count() < open_until_.load(std::memory_order_acquire)) {
    return refuse(open_time_left(now));
  }

  std::optional<PendingReport> report;
  Admission admission;
  {
    std::lock_guard lock(mutex_);
    const std::uint64_t phase = phase_.load(std::memory_order_relaxed);
    switch (state_of(phase)) {
      case State::closed:
        admission.ticket = Ticket(this, phase, false);
        break;
      case State::open:
        if (now.time_since_epoch().count() < open_until_.load(std::memory_order_relaxed)) {
          admission = refuse(open_time_left(now));
          break;
        }
        report = queue_report(enter(State::half_open, now));
        ++probes_in_flight_;
        admission.ticket = Ticket(this, phase_.load(std::memory_order_relaxed), true);
        break;
      case State::half_open:
        if (probes_in_flight_ >= settings_.half_open_probes) {
          admission = refuse(std::chrono::seconds(1));
          break;
        }
        ++probes_in_flight_;
        admission.ticket = Ticket(this, phase, true);
        break;
    }
  }
  if (report) deliver(std::move(*report));
  return admission;
}

void CircuitBreaker::record(const Ticket& ticket, Outcome outcome) {
  const TimePoint now = now_();
  std::optional<PendingReport> report;
  {
    std::lock_guard lock(mutex_);
    const std::uint64_t phase = phase_.load(std::memory_order_relaxed);
    // Issued in a state that is gone: its outcome decides nothing now (and a probe's slot
    // was reset when the state changed).
    if (ticket.phase_ != phase) return;
    switch (state_of(phase)) {
      case State::closed:
        count(outcome, now);
        if (should_open(now)) report = queue_report(enter(State::open, now));
        break;
      case State::half_open:
        --probes_in_flight_;
        if (outcome == Outcome::failure) {
          report = queue_report(enter(State::open, now));
        } else if (++probe_successes_ >= settings_.successes_to_close) {
          report = queue_report(enter(State::closed, now));
        }
        break;
      case State::open:  // no ticket is issued while open
        break;
    }
  }
  if (report) deliver(std::move(*report));
}

void CircuitBreaker::abandon(const Ticket& ticket) noexcept {
  if (!ticket.probe_) return;  // a closed-state call that never ended counts nothing
  std::lock_guard lock(mutex_);
  if (ticket.phase_ == phase_.load(std::memory_order_relaxed)) --probes_in_flight_;
}

CircuitBreaker::Transition CircuitBreaker::enter(State to, TimePoint now) {
  const std::uint64_t phase = phase_.load(std::memory_order_relaxed);
  switch (to) {
    case State::open:
      open_until_.store((now + settings_.open_for).time_since_epoch().count(),
                        std::memory_order_relaxed);
      opened_total_.fetch_add(1, std::memory_order_relaxed);
      break;
    case State::half_open:
      probes_in_flight_ = 0;
      probe_successes_ = 0;
      break;
    case State::closed:
      buckets_.fill(Bucket{});
      break;
  }
  // Release: a reader that sees the new phase also sees open_until_.
  phase_.store(next_phase(phase, to), std::memory_order_release);
  return Transition{state_of(phase), to};
}

void CircuitBreaker::count(Outcome outcome, TimePoint now) {
  const std::int64_t tick = tick_of(now, bucket_width_);
  constexpr auto n = static_cast<std::int64_t>(k_window_buckets);
  Bucket& bucket = buckets_[static_cast<std::size_t>(((tick % n) + n) % n)];
  // A newer tick in this slot means `now` (read before the mutex) is a whole window late.
  if (bucket.tick > tick) return;
  if (bucket.tick < tick) bucket = Bucket{tick, 0, 0};
  ++bucket.calls;
  if (outcome == Outcome::failure) ++bucket.failures;
}

bool CircuitBreaker::should_open(TimePoint now) const {
  const std::int64_t oldest =
      tick_of(now, bucket_width_) - static_cast<std::int64_t>(k_window_buckets) + 1;
  std::uint64_t calls = 0;
  std::uint64_t failures = 0;
  for (const Bucket& bucket : buckets_) {
    if (bucket.tick < oldest) continue;
    calls += bucket.calls;
    failures += bucket.failures;
  }
  if (calls == 0 || calls < settings_.min_calls) return false;
  return static_cast<double>(failures) >= settings_.failure_threshold * static_cast<double>(calls);
}

std::chrono::seconds CircuitBreaker::open_time_left(TimePoint now) const noexcept {
  const Duration left(open_until_.load(std::memory_order_relaxed) -
                      std::chrono::duration_cast<Duration>(now.time_since_epoch()).count());
  return std::max(std::chrono::ceil<std::chrono::seconds>(left), std::chrono::seconds(1));
}

Admission CircuitBreaker::refuse(std::chrono::seconds retry_after) noexcept {
  rejected_total_.fetch_add(1, std::memory_order_relaxed);
  return Admission{Ticket(), retry_after};
}

CircuitBreaker::PendingReport CircuitBreaker::queue_report(Transition transition) {
  if (!observer_) return PendingReport{{}, transition};
  return PendingReport{std::unique_lock(notify_mutex_), transition};
}

void CircuitBreaker::deliver(PendingReport report) noexcept {
  if (report.notify.owns_lock()) observer_(report.transition.from, report.transition.to);
}

}  // namespace levee::layers::breaker
