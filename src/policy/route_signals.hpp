#pragma once
// What a route measures for its flush policies (DESIGN.md "Flush policies", issue 7): the
// arrival rate of its requests and the p99 of its upstream calls' latency, and the
// observation the `adaptive` and `learned` policies decide from.
//
// - Arrival rate: an exponentially weighted rate with time constant tau
//   (`rate_time_constant`). Each arrival at t_i contributes (1/tau)·exp(-(t - t_i)/tau), so
//   the estimate at t is sum_i (1/tau)·exp(-(t - t_i)/tau), requests per second. It is kept
//   as (rate at the last arrival, that arrival's time) and decayed exactly over any gap, so
//   irregular intervals and idle periods need no per-event alpha. For a steady rate lambda it
//   converges to lambda within a few tau (from zero: lambda·(1 - exp(-T/tau)) after T); for
//   Poisson arrivals its standard deviation is sqrt(lambda / (2·tau)).
//   An arrival recorded with a time earlier than the latest one (two threads racing) still
//   counts, decayed by how much earlier it is; a read earlier than the latest arrival reads
//   the rate at that arrival.
// - Upstream p99: a log histogram (k_latency_buckets buckets, four per doubling from 10 µs,
//   the last one open-ended) per time slice; `latency_window` is cut into k_latency_slices
//   slices and the p99 covers the slices that overlap the last window, so the effective
//   window is between (k-1)/k and 1 times `latency_window`. Memory is fixed. The p99 is the
//   upper bound of the bucket holding the 99th-percentile sample: at most 2^(1/4) ≈ 1.19
//   times the true value, never below it (except in the last, open-ended bucket).
// - Short-horizon arrival rate: the same estimate with `short_rate_time_constant` (10 ms),
//   which sees a burst begin and end within a few ms.
// - The observation built from these and the group: observation.hpp.
//
// Time is passed in (steady_clock time points), so tests drive it by hand.
//
// Threading: one RouteSignals per route, shared by every worker thread; every member is
// thread-safe. One mutex guards the state; every critical section is short, allocates
// nothing and calls nothing outside this class, so it may be taken under a group owner's
// lock (FlushPolicy::decide). Reads rotate expired latency slices, hence the mutable state.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>

#include "levee/flush_policy.hpp"
#include "policy/observation.hpp"

namespace levee::policy {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

struct SignalSettings {
  Duration rate_time_constant = std::chrono::seconds(1);              // tau of the arrival rate
  Duration short_rate_time_constant = std::chrono::milliseconds(10);  // and of the short one
  Duration latency_window = std::chrono::seconds(10);                 // the p99 looks this far back

  // Throws std::invalid_argument naming the first bad value (start-up only): a time
  // constant that is not positive, a window shorter than k_latency_slices ns.
  void validate() const;
};

class RouteSignals {
 public:
  static constexpr std::size_t k_latency_slices = 8;
  static constexpr std::size_t k_latency_buckets = 96;

  // Throws std::invalid_argument on bad settings (SignalSettings::validate).
  explicit RouteSignals(SignalSettings settings = {});
  RouteSignals(const RouteSignals&) = delete;
  RouteSignals& operator=(const RouteSignals&) = delete;

  // One request of the route arrived at `now` (every request, grouped or not).
  void record_arrival(TimePoint now) noexcept;
  // One upstream call of the route took `latency`, and ended at `now`. Negative: counted 0.
  void record_upstream_latency(Duration latency, TimePoint now) noexcept;

  [[nodiscard]] double arrival_rate(TimePoint now) const noexcept;
  [[nodiscard]] double short_arrival_rate(TimePoint now) const noexcept;
  [[nodiscard]] std::optional<Duration> upstream_p99(TimePoint now) const noexcept;
  [[nodiscard]] SignalSnapshot snapshot(TimePoint now) const noexcept;
  [[nodiscard]] Observation observe(const GroupState& group, TimePoint now) const noexcept {
    return make_observation(group, snapshot(now));
  }

  [[nodiscard]] const SignalSettings& settings() const noexcept { return settings_; }

  // The bucket a latency falls in, and the latency a bucket reports (its upper bound).
  [[nodiscard]] static std::size_t bucket_of(Duration latency) noexcept;
  [[nodiscard]] static Duration bucket_upper_bound(std::size_t bucket) noexcept;

 private:
  static constexpr std::int64_t k_no_slice = std::numeric_limits<std::int64_t>::min();

  struct Slice {
    std::int64_t tick = k_no_slice;  // time since the clock's epoch, in slice_width_ units
    std::array<std::uint32_t, k_latency_buckets> counts{};
  };

  // An exactly decayed exponentially weighted rate (the contract above); under mutex_.
  struct DecayedRate {
    double rate = 0.0;  // at `last`
    TimePoint last{};
    void record(TimePoint now, double tau_seconds) noexcept;
    [[nodiscard]] double at(TimePoint now, double tau_seconds) const noexcept;
  };

  // Under mutex_.
  [[nodiscard]] double rate_at(TimePoint now) const noexcept;
  void expire(std::int64_t tick) const noexcept;
  void drop(Slice& slice) const noexcept;
  [[nodiscard]] std::optional<Duration> p99() const noexcept;
  [[nodiscard]] std::int64_t tick_of(TimePoint now) const noexcept;

  const SignalSettings settings_;
  const double tau_seconds_;
  const double short_tau_seconds_;
  const Duration slice_width_;

  mutable std::mutex mutex_;
  // Valid once any_arrival_.
  DecayedRate rate_;
  DecayedRate short_rate_;
  bool any_arrival_ = false;
  // The live slices (tick within the last k_latency_slices) and their sum.
  mutable std::array<Slice, k_latency_slices> slices_{};
  mutable std::array<std::uint64_t, k_latency_buckets> totals_{};
  mutable std::uint64_t samples_ = 0;
  mutable std::int64_t newest_tick_ = k_no_slice;
};

}  // namespace levee::policy
