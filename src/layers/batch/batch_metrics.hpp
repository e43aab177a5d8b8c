#pragma once
// What a batch route counts (DESIGN.md "Observability"): the batcher's flushes through
// levee::BatchObserver, and the calls and items through the batch layer. Shared by every
// worker of the route; every member is thread-safe. Prometheus children may be null (unit
// tests); the atomics always count, for /stats.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "levee/batcher.hpp"
#include "levee/flush_policy.hpp"
#include "policy/flush_reporter.hpp"

namespace levee::admin {
class Counter;
class Histogram;
}  // namespace levee::admin

namespace levee::layers::batch {

// levee_batch_calls_total{outcome}.
enum class CallOutcome { ok, call_failed, demux_failed };
inline constexpr std::size_t k_call_outcomes = 3;
[[nodiscard]] const char* to_string(CallOutcome outcome) noexcept;

// levee_batch_items_total{outcome}: what each item's caller got.
enum class ItemOutcomeKind { ok, item_failed, batch_failed, shed, withdrawn, invalid };
inline constexpr std::size_t k_item_outcomes = 6;
[[nodiscard]] const char* to_string(ItemOutcomeKind outcome) noexcept;

struct BatchMetricChildren {
  std::array<admin::Counter*, k_flush_reasons> flushes{};  // by levee::FlushReason
  admin::Histogram* size_at_flush = nullptr;
  admin::Histogram* age_at_flush = nullptr;
  std::array<admin::Counter*, k_call_outcomes> calls{};
  std::array<admin::Counter*, k_item_outcomes> items{};
};

class BatchCounters final : public BatchObserver {
 public:
  explicit BatchCounters(BatchMetricChildren children = {}) : children_(children) {}

  // Every finished batch goes to `reporter` (upstream latency for the policy's signals, one
  // flush telemetry event); `limits` are the route's, for the event's observation. Set once,
  // before the batcher takes items.
  void report_to(std::shared_ptr<policy::FlushReporter> reporter, const BatchLimits& limits) {
    reporter_ = std::move(reporter);
    limits_ = limits;
  }

  void flushed(FlushReason reason, std::size_t items, std::size_t bytes,
               std::chrono::nanoseconds age) override;
  void call_finished(const FinishedBatch& batch) override;
  void count_call(CallOutcome outcome);
  void count_item(ItemOutcomeKind outcome);

  [[nodiscard]] std::uint64_t calls(CallOutcome outcome) const noexcept {
    return calls_[static_cast<std::size_t>(outcome)].load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t items(ItemOutcomeKind outcome) const noexcept {
    return items_[static_cast<std::size_t>(outcome)].load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t flushes(FlushReason reason) const noexcept {
    return flushes_[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
  }
  // Items in every flushed batch: with the flushes, the mean batch size (/stats).
  [[nodiscard]] std::uint64_t flushed_items() const noexcept {
    return flushed_items_.load(std::memory_order_relaxed);
  }

 private:
  BatchMetricChildren children_;
  std::shared_ptr<policy::FlushReporter> reporter_;
  BatchLimits limits_;
  std::array<std::atomic<std::uint64_t>, k_flush_reasons> flushes_{};
  std::atomic<std::uint64_t> flushed_items_{0};
  std::array<std::atomic<std::uint64_t>, k_call_outcomes> calls_{};
  std::array<std::atomic<std::uint64_t>, k_item_outcomes> items_{};
};

}  // namespace levee::layers::batch
