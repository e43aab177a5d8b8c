#pragma once
// Metric values for /metrics and /stats: Counter, Gauge and Histogram, each sharded per
// worker thread so the hot path never contends.
//
// Thread-safety contract:
//  - inc/add/sub/observe are wait-free, lock-free and may be called from any thread at any
//    time. Each value is split into k_metric_shards cells, one cache line each; a thread
//    writes only the cell picked by its shard index (set_metrics_shard), with a relaxed
//    atomic RMW, so workers on different shards never share a cache line.
//  - value()/snapshot()/quantile() may run concurrently with updates (a scrape). They sum the
//    shards with relaxed loads: every update is counted exactly once as soon as it is
//    visible, but a read racing with updates is not a point-in-time snapshot across shards
//    (nor, for a histogram, between its buckets and its sum).
//  - Gauge::set is the exception to "never contends": see Gauge.
//
// Ownership: metrics are created and owned by a Registry (metric_registry.hpp), which hands
// out references that stay valid for the registry's lifetime. Objects are neither copyable
// nor movable, so a reference kept by a worker can never dangle because of a move.
//
// Data-path rule: nothing here throws or allocates after construction; Histogram's
// constructor throws std::invalid_argument on bad bucket bounds (start-up only).

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace levee::admin {

// Enough for one shard per core on the machines levee targets; with more workers than
// shards, threads share cells (still correct, just some contention). A power of two so the
// index reduction in set_metrics_shard is a mask.
inline constexpr unsigned k_metric_shards = 32;
inline constexpr std::size_t k_cache_line = 64;
// Upper bound on a histogram's finite bucket bounds; observe() finds the bucket by binary
// search. The phase histograms (100 µs steps to 10 ms, layers/metrics/phase_metrics.hpp) need 109.
inline constexpr std::size_t k_max_histogram_bounds = 128;

// Picks this thread's shard (index % k_metric_shards). A worker thread calls it once, before
// its first update; threads that never call it write shard 0.
void set_metrics_shard(unsigned index) noexcept;

namespace detail {
// constinit lets the inline hot path read the variable directly instead of going through a
// TLS wrapper function that checks for dynamic initialization.
extern constinit thread_local unsigned t_metrics_shard;
}  // namespace detail

// This thread's shard index, already reduced to [0, k_metric_shards).
[[nodiscard]] inline unsigned current_metrics_shard() noexcept { return detail::t_metrics_shard; }

// Monotonic count. Prometheus type "counter".
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void inc(std::uint64_t n = 1) noexcept {
    cells_[current_metrics_shard()].value.fetch_add(n, std::memory_order_relaxed);
  }

  // Sum over shards; wraps modulo 2^64 (as Prometheus' rate() expects a reset, not UB).
  [[nodiscard]] std::uint64_t value() const noexcept;

 private:
  struct alignas(k_cache_line) Cell {
    std::atomic<std::uint64_t> value{0};
  };
  std::array<Cell, k_metric_shards> cells_{};
};

// Integer level that goes up and down (in-flight requests, open connections). Prometheus
// type "gauge".
//
// value() = base + sum of shards. add/sub touch only the caller's shard. set(v) is meant to
// be rare (a periodic refresh, a reset in tests): it reads the shards and stores
// base = v - sum, so an add that lands after that read counts on top of v, as if it came
// after the set. Two set() calls racing with each other and with adds may lose one of those
// adds; keep a single writer for set() if that matters. For values computed at scrape time,
// use Registry::gauge_callback instead.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void add(std::int64_t n) noexcept {
    cells_[current_metrics_shard()].value.fetch_add(static_cast<std::uint64_t>(n),
                                                    std::memory_order_relaxed);
  }
  void sub(std::int64_t n) noexcept { add(-n); }
  void inc() noexcept { add(1); }
  void dec() noexcept { add(-1); }
  void set(std::int64_t v) noexcept;

  [[nodiscard]] std::int64_t value() const noexcept;

 private:
  [[nodiscard]] std::uint64_t shard_sum() const noexcept;

  // Unsigned cells: one thread's adds and another's subs drift its shards far apart, and
  // unsigned arithmetic makes the sum exact modulo 2^64 instead of overflowing.
  struct alignas(k_cache_line) Cell {
    std::atomic<std::uint64_t> value{0};
  };
  std::array<Cell, k_metric_shards> cells_{};
  alignas(k_cache_line) std::atomic<std::uint64_t> base_{0};
};

// A point-in-time read of a histogram, for /stats and exposition.
struct HistogramSnapshot {
  // Finite upper bounds, strictly increasing (the implicit last bucket is +Inf).
  std::vector<double> upper_bounds;
  // Per-bucket, NOT cumulative: counts[i] holds observations in (bounds[i-1], bounds[i]];
  // counts.back() is the (bounds.back(), +Inf) bucket. size() == upper_bounds.size() + 1.
  std::vector<std::uint64_t> counts;
  double sum = 0.0;
  std::uint64_t count = 0;  // == sum of counts, so _count always equals the +Inf bucket

  // Approximates the q-quantile (q clamped to [0, 1]) by linear interpolation inside the
  // bucket that holds the rank, as PromQL's histogram_quantile does: the first bucket starts
  // at 0 (or at its own bound if that is <= 0), and a rank in the +Inf bucket returns the
  // largest finite bound. NaN if there are no observations.
  [[nodiscard]] double quantile(double q) const noexcept;
};

// Distribution over fixed buckets. Prometheus type "histogram".
class Histogram {
 public:
  // Throws std::invalid_argument unless the bounds are finite, strictly increasing and at
  // most k_max_histogram_bounds. An empty list is allowed (only the +Inf bucket).
  explicit Histogram(std::span<const double> upper_bounds);
  Histogram(const Histogram&) = delete;
  // The constructor's check alone, so a registry can reject bad bounds at registration,
  // before the first child exists.
  static void check_bounds(std::span<const double> upper_bounds);
  Histogram& operator=(const Histogram&) = delete;

  // NaN is dropped: one NaN would turn _sum into NaN for the life of the process.
  void observe(double v) noexcept;
  // observe(v) for a caller that knows v's bucket cheaper than the search: `bucket` is the
  // index of the first bound >= v (bounds().size() for +Inf). Out of range goes to +Inf.
  void observe_in(std::size_t bucket, double v) noexcept;

  [[nodiscard]] HistogramSnapshot snapshot() const;
  [[nodiscard]] double quantile(double q) const { return snapshot().quantile(q); }
  [[nodiscard]] const std::vector<double>& upper_bounds() const noexcept { return bounds_; }

 private:
  static constexpr std::size_t k_words_per_line = k_cache_line / sizeof(std::uint64_t);
  // A shard is whole cache lines: bucket counts, then the bit pattern of the shard's sum.
  struct alignas(k_cache_line) Line {
    std::array<std::atomic<std::uint64_t>, k_words_per_line> words{};
  };

  [[nodiscard]] std::atomic<std::uint64_t>& word(unsigned shard, std::size_t i) const noexcept {
    return lines_[shard * lines_per_shard_ + i / k_words_per_line].words[i % k_words_per_line];
  }

  std::vector<double> bounds_;
  std::size_t sum_word_;  // == bounds_.size() + 1: index of the sum after the bucket counts
  std::size_t lines_per_shard_;
  std::unique_ptr<Line[]> lines_;
};

// Seconds: 0.5 ms to 10 s, the shape of proxy request latencies.
[[nodiscard]] std::span<const double> default_latency_buckets() noexcept;

}  // namespace levee::admin
