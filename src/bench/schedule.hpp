#pragma once
// The open-loop send schedule: the offset from the start of the run at which each request is
// due, phase after phase, in order. Deterministic for a given scenario and seed (Poisson
// arrivals draw from a seeded generator), lazy (no list of millions of offsets is built),
// and independent of how the target behaves: that independence is what keeps queueing delay
// visible in the latencies (no coordinated omission). Single-threaded.

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "bench/scenario.hpp"

namespace levee::bench {

class Schedule {
 public:
  Schedule(std::vector<Phase> phases, std::uint64_t seed);

  // The next due offset (non-decreasing), or nullopt once every phase is exhausted.
  [[nodiscard]] std::optional<Nanos> next();
  // The nominal length: the sum of the phases' durations.
  [[nodiscard]] Nanos duration() const noexcept { return total_duration_; }
  // The index of the phase the last offset came from.
  [[nodiscard]] std::size_t phase_index() const noexcept { return phase_; }

 private:
  [[nodiscard]] std::optional<Nanos> next_in_phase(const Phase& phase);

  std::vector<Phase> phases_;
  std::size_t phase_ = 0;
  Nanos phase_start_{0};
  std::uint64_t emitted_in_phase_ = 0;
  double poisson_clock_s_ = 0;  // seconds into the current Poisson phase
  Nanos total_duration_{0};
  std::mt19937_64 random_;
};

[[nodiscard]] Nanos phase_duration(const Phase& phase) noexcept;
// Requests a phase schedules; Poisson phases report their expectation.
[[nodiscard]] double phase_expected_requests(const Phase& phase) noexcept;

}  // namespace levee::bench
