#include "admin/metrics.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace levee::admin {

static_assert((k_metric_shards & (k_metric_shards - 1)) == 0, "shard count must be 2^k");

namespace detail {
constinit thread_local unsigned t_metrics_shard = 0;
}  // namespace detail

void set_metrics_shard(unsigned index) noexcept {
  detail::t_metrics_shard = index & (k_metric_shards - 1);
}

std::uint64_t Counter::value() const noexcept {
  std::uint64_t total = 0;
  for (const Cell& cell : cells_) total += cell.value.load(std::memory_order_relaxed);
  return total;
}

std::uint64_t Gauge::shard_sum() const noexcept {
  std::uint64_t total = 0;
  for (const Cell& cell : cells_) total += cell.value.load(std::memory_order_relaxed);
  return total;
}

void Gauge::set(std::int64_t v) noexcept {
  base_.store(static_cast<std::uint64_t>(v) - shard_sum(), std::memory_order_relaxed);
}

std::int64_t Gauge::value() const noexcept {
  return static_cast<std::int64_t>(base_.load(std::memory_order_relaxed) + shard_sum());
}

void Histogram::check_bounds(std::span<const double> upper_bounds) {
  if (upper_bounds.size() > k_max_histogram_bounds) {
    throw std::invalid_argument("histogram: more than " + std::to_string(k_max_histogram_bounds) +
                                " bucket bounds");
  }
  for (std::size_t i = 0; i < upper_bounds.size(); ++i) {
    if (!std::isfinite(upper_bounds[i])) {
      throw std::invalid_argument("histogram: bucket bounds must be finite (+Inf is implicit)");
    }
    if (i > 0 && !(upper_bounds[i - 1] < upper_bounds[i])) {
      throw std::invalid_argument("histogram: bucket bounds must be strictly increasing");
    }
  }
}

Histogram::Histogram(std::span<const double> upper_bounds)
    : bounds_(upper_bounds.begin(), upper_bounds.end()),
      sum_word_(bounds_.size() + 1),
      lines_per_shard_((sum_word_ + 1 + k_words_per_line - 1) / k_words_per_line) {
  check_bounds(bounds_);
  lines_ = std::make_unique<Line[]>(lines_per_shard_ * k_metric_shards);
}

void Histogram::observe(double v) noexcept {
  if (std::isnan(v)) return;
  observe_in(static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                      bounds_.begin()),
             v);
}

void Histogram::observe_in(std::size_t bucket, double v) noexcept {
  if (std::isnan(v)) return;
  bucket = std::min(bucket, bounds_.size());
  const unsigned shard = current_metrics_shard();
  word(shard, bucket).fetch_add(1, std::memory_order_relaxed);
  // No atomic add for doubles on plain words; the CAS is uncontended when each worker has
  // its own shard, so it succeeds the first time.
  std::atomic<std::uint64_t>& sum = word(shard, sum_word_);
  std::uint64_t seen = sum.load(std::memory_order_relaxed);
  while (!sum.compare_exchange_weak(seen,
                                    std::bit_cast<std::uint64_t>(std::bit_cast<double>(seen) + v),
                                    std::memory_order_relaxed)) {
  }
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot snap;
  snap.upper_bounds = bounds_;
  snap.counts.assign(bounds_.size() + 1, 0);
  for (unsigned shard = 0; shard < k_metric_shards; ++shard) {
    for (std::size_t i = 0; i < snap.counts.size(); ++i) {
      snap.counts[i] += word(shard, i).load(std::memory_order_relaxed);
    }
    snap.sum += std::bit_cast<double>(word(shard, sum_word_).load(std::memory_order_relaxed));
  }
  for (std::uint64_t c : snap.counts) snap.count += c;
  return snap;
}

double HistogramSnapshot::quantile(double q) const noexcept {
  if (count == 0) return std::numeric_limits<double>::quiet_NaN();
  q = std::clamp(q, 0.0, 1.0);
  const double rank = q * static_cast<double>(count);
  std::uint64_t below = 0;  // observations in buckets before i
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const std::uint64_t in_bucket = counts[i];
    // q == 0 must land on the first non-empty bucket, not on an empty leading one.
    if (in_bucket == 0 || static_cast<double>(below + in_bucket) < rank) {
      below += in_bucket;
      continue;
    }
    if (i == upper_bounds.size()) {
      // The +Inf bucket has no upper edge to interpolate towards.
      return upper_bounds.empty() ? std::numeric_limits<double>::quiet_NaN() : upper_bounds.back();
    }
    const double upper = upper_bounds[i];
    if (i == 0 && upper <= 0.0) return upper;
    const double lower = i == 0 ? 0.0 : upper_bounds[i - 1];
    const double fraction = (rank - static_cast<double>(below)) / static_cast<double>(in_bucket);
    return lower + (upper - lower) * fraction;
  }
  // Unreachable: rank <= count, so some non-empty bucket reaches it.
  return std::numeric_limits<double>::quiet_NaN();
}

std::span<const double> default_latency_buckets() noexcept {
  static constexpr std::array<double, 14> buckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return buckets;
}

}  // namespace levee::admin
