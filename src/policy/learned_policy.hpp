#pragma once
// `learned` (DESIGN.md "Flush policies", issue 7): an ONNX model maps the group's observation
// to WAIT/FLUSH, evaluated in-process (CompiledModel) on every arrival and every tick.
//
// The observation is RouteSignals::observe(): [size/cap, age/max_wait,
// log1p(upstream p99 ms)/log1p(500), tanh(rate/100)], each clamped to [0, 1]. The model
// answers FLUSH when its FLUSH logit is the larger one.
//
// Falling back: the route's `adaptive` policy (over the same signals) decides instead, and
// the fallback is counted by reason, when
//   - no model has loaded (no_model): the file was missing or refused at start-up;
//   - the evaluation failed (error): a non-finite logit, or an exception;
//   - the evaluation took longer than decision_deadline (deadline). An evaluation cannot be
//     pre-empted, so the deadline is enforced twice: a model measured slower than it is
//     refused at load (ModelSlot), and a decision that still overruns it (the thread was
//     descheduled) is replaced by the fallback's answer.
// The envelope is the group owner's and is checked before the policy is asked.
//
// Threading: shared by every worker of a route; decide() is thread-safe and allocates
// nothing once the thread's scratch has grown (the first evaluation on a thread).

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "admin/metrics.hpp"
#include "levee/flush_policy.hpp"
#include "policy/adaptive_policy.hpp"
#include "policy/model_slot.hpp"

namespace levee::policy {

enum class Fallback : std::uint8_t { no_model, error, deadline };
inline constexpr std::size_t k_fallbacks = 3;

[[nodiscard]] std::string_view to_string(Fallback fallback) noexcept;

// How the route's learned decisions went; shared by every worker. The metric children may be
// null (unit tests).
class DecisionCounters {
 public:
  void count_model_decision() noexcept { bump(model_decisions_, model_metric); }
  void count_fallback(Fallback reason) noexcept {
    const auto i = static_cast<std::size_t>(reason);
    bump(fallbacks_[i], fallback_metrics[i]);
  }
  [[nodiscard]] std::uint64_t model_decisions() const noexcept {
    return model_decisions_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t fallbacks(Fallback reason) const noexcept {
    return fallbacks_[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
  }

  admin::Counter* model_metric = nullptr;
  std::array<admin::Counter*, k_fallbacks> fallback_metrics{};

 private:
  static void bump(std::atomic<std::uint64_t>& counter, admin::Counter* metric) noexcept {
    counter.fetch_add(1, std::memory_order_relaxed);
    if (metric != nullptr) metric->inc();
  }
  std::atomic<std::uint64_t> model_decisions_{0};
  std::array<std::atomic<std::uint64_t>, k_fallbacks> fallbacks_{};
};

struct LearnedSettings {
  std::chrono::nanoseconds decision_deadline = std::chrono::microseconds(100);
  std::chrono::nanoseconds tick = std::chrono::milliseconds(1);  // FlushPolicy::tick

  // Throws std::invalid_argument on a deadline that is not positive or a negative tick.
  void validate() const;
};

class LearnedPolicy final : public FlushPolicy {
 public:
  using NowFunction = std::function<TimePoint()>;

  // `now` gives the decision's time and times the evaluation (tests drive it by hand).
  // Throws std::invalid_argument on a null model slot, fallback or counters, or bad settings.
  LearnedPolicy(std::shared_ptr<const ModelSlot> model,
                std::shared_ptr<const AdaptivePolicy> fallback, LearnedSettings settings,
                std::shared_ptr<DecisionCounters> counters,
                NowFunction now = std::chrono::steady_clock::now);

  [[nodiscard]] std::optional<FlushReason> decide(const GroupState& group) const override {
    return decide_at(group, now_());
  }
  [[nodiscard]] std::optional<FlushReason> decide_at(const GroupState& group,
                                                     TimePoint now) const noexcept;
  [[nodiscard]] std::string_view name() const noexcept override { return "learned"; }
  [[nodiscard]] std::chrono::nanoseconds tick() const noexcept override { return settings_.tick; }

  [[nodiscard]] const DecisionCounters& counters() const noexcept { return *counters_; }

 private:
  [[nodiscard]] std::optional<FlushReason> fall_back(Fallback reason, const GroupState& group,
                                                     TimePoint now) const noexcept;

  std::shared_ptr<const ModelSlot> model_;
  std::shared_ptr<const AdaptivePolicy> fallback_;
  LearnedSettings settings_;
  std::shared_ptr<DecisionCounters> counters_;
  NowFunction now_;
};

}  // namespace levee::policy
