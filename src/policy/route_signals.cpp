#include "policy/route_signals.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace levee::policy {
namespace {

constexpr double k_first_bucket_ns = 10'000.0;  // bucket 0 holds everything up to 10 µs
constexpr double k_buckets_per_doubling = 4.0;
constexpr double k_quantile = 0.99;

[[nodiscard]] double seconds(Duration d) noexcept {
  return std::chrono::duration<double>(d).count();
}

[[nodiscard]] std::size_t slot_of(std::int64_t tick) noexcept {
  constexpr auto slices = static_cast<std::int64_t>(RouteSignals::k_latency_slices);
  return static_cast<std::size_t>(((tick % slices) + slices) % slices);
}

}  // namespace

void SignalSettings::validate() const {
  if (rate_time_constant <= Duration::zero()) {
    throw std::invalid_argument("rate_time_constant must be positive");
  }
  if (short_rate_time_constant <= Duration::zero()) {
    throw std::invalid_argument("short_rate_time_constant must be positive");
  }
  if (latency_window < Duration(RouteSignals::k_latency_slices)) {
    throw std::invalid_argument("latency_window is too short");
  }
}

RouteSignals::RouteSignals(SignalSettings settings)
    : settings_((settings.validate(), settings)),
      tau_seconds_(seconds(settings.rate_time_constant)),
      short_tau_seconds_(seconds(settings.short_rate_time_constant)),
      slice_width_(settings.latency_window / static_cast<Duration::rep>(k_latency_slices)) {}

std::size_t RouteSignals::bucket_of(Duration latency) noexcept {
  const auto ns = static_cast<double>(latency.count());
  if (!(ns > k_first_bucket_ns)) return 0;
  const double index = std::ceil(k_buckets_per_doubling * std::log2(ns / k_first_bucket_ns));
  return static_cast<std::size_t>(
      std::clamp(index, 1.0, static_cast<double>(k_latency_buckets - 1)));
}

Duration RouteSignals::bucket_upper_bound(std::size_t bucket) noexcept {
  const double ns =
      k_first_bucket_ns * std::exp2(static_cast<double>(bucket) / k_buckets_per_doubling);
  return Duration(static_cast<Duration::rep>(std::ceil(ns)));
}

std::int64_t RouteSignals::tick_of(TimePoint now) const noexcept {
  const std::int64_t since = now.time_since_epoch().count();
  const std::int64_t width = slice_width_.count();
  const std::int64_t tick = since / width;
  return (since % width < 0) ? tick - 1 : tick;
}

void RouteSignals::DecayedRate::record(TimePoint now, double tau_seconds) noexcept {
  const double weight = 1.0 / tau_seconds;
  if (now >= last) {
    rate = rate * std::exp(-seconds(now - last) / tau_seconds) + weight;
    last = now;
  } else {
    // Taken before the latest arrival was recorded: it has decayed since, as seen from there.
    rate += weight * std::exp(-seconds(last - now) / tau_seconds);
  }
}

double RouteSignals::DecayedRate::at(TimePoint now, double tau_seconds) const noexcept {
  if (now <= last) return rate;
  return rate * std::exp(-seconds(now - last) / tau_seconds);
}

void RouteSignals::record_arrival(TimePoint now) noexcept {
  std::lock_guard lock(mutex_);
  if (!any_arrival_) {
    rate_ = DecayedRate{1.0 / tau_seconds_, now};
    short_rate_ = DecayedRate{1.0 / short_tau_seconds_, now};
    any_arrival_ = true;
    return;
  }
  rate_.record(now, tau_seconds_);
  short_rate_.record(now, short_tau_seconds_);
}

double RouteSignals::rate_at(TimePoint now) const noexcept {
  return any_arrival_ ? rate_.at(now, tau_seconds_) : 0.0;
}

double RouteSignals::arrival_rate(TimePoint now) const noexcept {
  std::lock_guard lock(mutex_);
  return rate_at(now);
}

double RouteSignals::short_arrival_rate(TimePoint now) const noexcept {
  std::lock_guard lock(mutex_);
  return any_arrival_ ? short_rate_.at(now, short_tau_seconds_) : 0.0;
}

void RouteSignals::drop(Slice& slice) const noexcept {
  if (slice.tick == k_no_slice) return;
  for (std::size_t b = 0; b < k_latency_buckets; ++b) {
    totals_[b] -= slice.counts[b];
    samples_ -= slice.counts[b];
  }
  slice.counts.fill(0);
  slice.tick = k_no_slice;
}

void RouteSignals::expire(std::int64_t tick) const noexcept {
  newest_tick_ = std::max(newest_tick_, tick);
  constexpr auto slices = static_cast<std::int64_t>(k_latency_slices);
  for (Slice& slice : slices_) {
    if (slice.tick != k_no_slice && slice.tick <= newest_tick_ - slices) drop(slice);
  }
}

void RouteSignals::record_upstream_latency(Duration latency, TimePoint now) noexcept {
  const std::size_t bucket = bucket_of(std::max(latency, Duration::zero()));
  std::lock_guard lock(mutex_);
  const std::int64_t tick = tick_of(now);
  constexpr auto slices = static_cast<std::int64_t>(k_latency_slices);
  // A call that ended before the window another thread has already moved to.
  if (newest_tick_ != k_no_slice && tick <= newest_tick_ - slices) return;
  expire(tick);
  Slice& slice = slices_[slot_of(tick)];
  if (slice.tick != tick) {
    drop(slice);
    slice.tick = tick;
  }
  ++slice.counts[bucket];
  ++totals_[bucket];
  ++samples_;
}

std::optional<Duration> RouteSignals::p99() const noexcept {
  if (samples_ == 0) return std::nullopt;
  const auto rank =
      static_cast<std::uint64_t>(std::ceil(k_quantile * static_cast<double>(samples_)));
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < k_latency_buckets; ++b) {
    seen += totals_[b];
    if (seen >= rank) return bucket_upper_bound(b);
  }
  return bucket_upper_bound(k_latency_buckets - 1);
}

std::optional<Duration> RouteSignals::upstream_p99(TimePoint now) const noexcept {
  std::lock_guard lock(mutex_);
  expire(tick_of(now));
  return p99();
}

SignalSnapshot RouteSignals::snapshot(TimePoint now) const noexcept {
  std::lock_guard lock(mutex_);
  expire(tick_of(now));
  return SignalSnapshot{rate_at(now), any_arrival_ ? short_rate_.at(now, short_tau_seconds_) : 0.0,
                        p99()};
}

}  // namespace levee::policy
