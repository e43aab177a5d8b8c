#include "bench/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace levee::bench {

// Below 2^p every value has its own bucket. Above, a value with bit width w is stored as its
// top p bits (a "mantissa" in [2^(p-1), 2^p)) and the shift e = w - p, in bucket
// e * 2^(p-1) + mantissa: contiguous with the exact range, each shift adding 2^(p-1) buckets.
std::size_t Histogram::index_of(std::uint64_t value) noexcept {
  const auto width = static_cast<unsigned>(std::bit_width(value));
  if (width <= k_precision_bits) return static_cast<std::size_t>(value);
  const unsigned shift = width - k_precision_bits;
  return shift * k_half + static_cast<std::size_t>(value >> shift);
}

std::uint64_t Histogram::lower_bound_of(std::size_t index) noexcept {
  if (index < 2 * k_half) return index;
  const std::size_t shift = index / k_half - 1;
  const std::size_t mantissa = index - shift * k_half;
  return static_cast<std::uint64_t>(mantissa) << shift;
}

std::uint64_t Histogram::width_of(std::size_t index) noexcept {
  if (index < 2 * k_half) return 1;
  return std::uint64_t{1} << (index / k_half - 1);
}

void Histogram::record(std::uint64_t value) noexcept {
  value = std::min(value, max_value());
  ++counts_[index_of(value)];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value);
}

void Histogram::merge(const Histogram& other) noexcept {
  for (std::size_t i = 0; i < k_bucket_count; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

double Histogram::mean() const noexcept {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

std::uint64_t Histogram::percentile(double q) const noexcept {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < k_bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const std::uint64_t width = width_of(i);
      const std::uint64_t middle = lower_bound_of(i) + (width - 1) / 2;
      // The exact extremes are known; a bucket's midpoint must not step outside them.
      return std::clamp(middle, min_, max_);
    }
  }
  return max_;
}

}  // namespace levee::bench
