#pragma once
// A log-linear latency histogram (HdrHistogram's layout): values below 2^k_precision_bits
// are counted exactly, larger ones in buckets whose width is at most 1/128 of their lower
// bound, so a percentile read back from a bucket's midpoint is within 0.4 % of the exact
// sample. Fixed memory (about 40 KiB), O(1) record, no allocation after construction.
// Not thread-safe: one histogram per thread, merged at the end.

#include <array>
#include <cstddef>
#include <cstdint>

namespace levee::bench {

class Histogram {
 public:
  // Values are unsigned integers in any unit (levee-bench uses nanoseconds); values above
  // max_value() are clamped into the top bucket and still counted.
  void record(std::uint64_t value) noexcept;
  void merge(const Histogram& other) noexcept;

  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; }
  [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
  [[nodiscard]] double mean() const noexcept;
  // The nearest-rank percentile (the smallest recorded value with at least q * count samples
  // at or below it), q in [0, 1], read back from its bucket; 0 when empty.
  [[nodiscard]] std::uint64_t percentile(double q) const noexcept;

  static constexpr unsigned k_precision_bits = 8;
  static constexpr unsigned k_max_value_bits = 44;  // about 4.9 hours in nanoseconds
  [[nodiscard]] static constexpr std::uint64_t max_value() noexcept {
    return (std::uint64_t{1} << k_max_value_bits) - 1;
  }

 private:
  static constexpr std::size_t k_half = std::size_t{1} << (k_precision_bits - 1);
  static constexpr std::size_t k_bucket_count =
      (k_max_value_bits - k_precision_bits + 1) * k_half + 2 * k_half;

  [[nodiscard]] static std::size_t index_of(std::uint64_t value) noexcept;
  [[nodiscard]] static std::uint64_t lower_bound_of(std::size_t index) noexcept;
  [[nodiscard]] static std::uint64_t width_of(std::size_t index) noexcept;

  std::array<std::uint64_t, k_bucket_count> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_ = ~std::uint64_t{0};
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace levee::bench
