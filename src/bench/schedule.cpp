#include "bench/schedule.hpp"

#include <cmath>
#include <utility>

namespace levee::bench {
namespace {

double seconds(Nanos duration) { return std::chrono::duration<double>(duration).count(); }

Nanos from_seconds(double value) {
  return std::chrono::duration_cast<Nanos>(std::chrono::duration<double>(value));
}

}  // namespace

Nanos phase_duration(const Phase& phase) noexcept {
  if (phase.kind == Phase::Kind::waves) {
    return phase.interval * static_cast<std::int64_t>(phase.waves);
  }
  return phase.duration;
}

double phase_expected_requests(const Phase& phase) noexcept {
  switch (phase.kind) {
    case Phase::Kind::constant:
      return std::floor(phase.rate_from * seconds(phase.duration));
    case Phase::Kind::ramp:
      return std::floor((phase.rate_from + phase.rate_to) / 2 * seconds(phase.duration));
    case Phase::Kind::waves:
      return static_cast<double>(phase.waves * phase.wave_size);
  }
  return 0;
}

Schedule::Schedule(std::vector<Phase> phases, std::uint64_t seed)
    : phases_(std::move(phases)), random_(seed) {
  for (const Phase& phase : phases_) total_duration_ += phase_duration(phase);
}

std::optional<Nanos> Schedule::next() {
  while (phase_ < phases_.size()) {
    if (auto offset = next_in_phase(phases_[phase_])) {
      ++emitted_in_phase_;
      return phase_start_ + *offset;
    }
    phase_start_ += phase_duration(phases_[phase_]);
    ++phase_;
    emitted_in_phase_ = 0;
    poisson_clock_s_ = 0;
  }
  return std::nullopt;
}

std::optional<Nanos> Schedule::next_in_phase(const Phase& phase) {
  const double k = static_cast<double>(emitted_in_phase_);
  switch (phase.kind) {
    case Phase::Kind::waves: {
      if (phase.wave_size == 0 || emitted_in_phase_ >= phase.waves * phase.wave_size) break;
      return phase.interval * static_cast<std::int64_t>(emitted_in_phase_ / phase.wave_size);
    }
    case Phase::Kind::constant:
    case Phase::Kind::ramp: {
      const double length = seconds(phase.duration);
      if (phase.arrival == Arrival::poisson) {
        // A non-homogeneous Poisson process by thinning: candidates at the peak rate, each
        // kept with probability rate(t) / peak.
        const double peak = std::max(phase.rate_from, phase.rate_to);
        if (peak <= 0) break;
        std::exponential_distribution<double> gap(peak);
        std::uniform_real_distribution<double> coin(0.0, 1.0);
        for (;;) {
          poisson_clock_s_ += gap(random_);
          if (poisson_clock_s_ >= length) return std::nullopt;
          const double rate =
              phase.rate_from + (phase.rate_to - phase.rate_from) * (poisson_clock_s_ / length);
          const double target_rate = phase.kind == Phase::Kind::constant ? peak : rate;
          if (coin(random_) * peak <= target_rate) return from_seconds(poisson_clock_s_);
        }
      }
      if (k >= phase_expected_requests(phase)) break;
      if (emitted_in_phase_ == 0) return Nanos{0};
      // Request k is due when the integral of the rate reaches k:
      //   rate_from * t + (rate_to - rate_from) / (2 * length) * t^2 = k,
      // solved in the form that stays exact when the ramp is flat.
      const double a =
          phase.kind == Phase::Kind::ramp ? (phase.rate_to - phase.rate_from) / (2 * length) : 0.0;
      const double b = phase.rate_from;
      const double root = std::sqrt(std::max(0.0, b * b + 4 * a * k));
      if (b + root <= 0) break;
      return from_seconds(std::min(length, 2 * k / (b + root)));
    }
  }
  return std::nullopt;
}

}  // namespace levee::bench
