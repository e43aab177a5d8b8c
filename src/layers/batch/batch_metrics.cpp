#include "layers/batch/batch_metrics.hpp"

#include "admin/metrics.hpp"

namespace levee::layers::batch {

const char* to_string(CallOutcome outcome) noexcept {
  switch (outcome) {
    case CallOutcome::ok:
      return "ok";
    case CallOutcome::call_failed:
      return "call_failed";
    case CallOutcome::demux_failed:
      return "demux_failed";
  }
  return "unknown";
}

const char* to_string(ItemOutcomeKind outcome) noexcept {
  switch (outcome) {
    case ItemOutcomeKind::ok:
      return "ok";
    case ItemOutcomeKind::item_failed:
      return "item_failed";
    case ItemOutcomeKind::batch_failed:
      return "batch_failed";
    case ItemOutcomeKind::shed:
      return "shed";
    case ItemOutcomeKind::withdrawn:
      return "withdrawn";
    case ItemOutcomeKind::invalid:
      return "invalid";
  }
  return "unknown";
}

void BatchCounters::flushed(FlushReason reason, std::size_t items, std::size_t /*bytes*/,
                            std::chrono::nanoseconds age) {
  const auto index = static_cast<std::size_t>(reason);
  flushes_[index].fetch_add(1, std::memory_order_relaxed);
  flushed_items_.fetch_add(items, std::memory_order_relaxed);
  if (auto* counter = children_.flushes[index]) counter->inc();
  if (children_.size_at_flush != nullptr) {
    children_.size_at_flush->observe(static_cast<double>(items));
  }
  if (children_.age_at_flush != nullptr) {
    children_.age_at_flush->observe(std::chrono::duration<double>(age).count());
  }
}

void BatchCounters::call_finished(const FinishedBatch& batch) {
  if (!reporter_) return;
  GroupState at_flush{batch.items, limits_.max_batch_size, batch.bytes, limits_.max_batch_bytes,
                      batch.age,   limits_.max_wait};
  if (batch.arrivals != nullptr)
    batch.arrivals->describe(at_flush, batch.arrivals->opened() + batch.age);
  // A failed call's status is the one its members got (BatchFailure::code).
  const int status = batch.ok ? 200 : batch.failure_code;
  reporter_->flushed(
      policy::FlushedGroup{at_flush, batch.reason, batch.call_time, status, true, batch.arrivals},
      std::chrono::steady_clock::now());
}

void BatchCounters::count_call(CallOutcome outcome) {
  const auto index = static_cast<std::size_t>(outcome);
  calls_[index].fetch_add(1, std::memory_order_relaxed);
  if (auto* counter = children_.calls[index]) counter->inc();
}

void BatchCounters::count_item(ItemOutcomeKind outcome) {
  const auto index = static_cast<std::size_t>(outcome);
  items_[index].fetch_add(1, std::memory_order_relaxed);
  if (auto* counter = children_.items[index]) counter->inc();
}

}  // namespace levee::layers::batch
