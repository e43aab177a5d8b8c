#include "policy/learned_policy.hpp"

#include <cmath>
#include <exception>
#include <stdexcept>
#include <utility>

namespace levee::policy {

std::string_view to_string(Fallback fallback) noexcept {
  switch (fallback) {
    case Fallback::no_model:
      return "no_model";
    case Fallback::error:
      return "error";
    case Fallback::deadline:
      return "deadline";
  }
  return "unknown";
}

void LearnedSettings::validate() const {
  if (decision_deadline <= std::chrono::nanoseconds::zero()) {
    throw std::invalid_argument("learned decision_deadline must be positive");
  }
  if (tick < std::chrono::nanoseconds::zero()) {
    throw std::invalid_argument("learned tick must not be negative");
  }
}

LearnedPolicy::LearnedPolicy(std::shared_ptr<const ModelSlot> model,
                             std::shared_ptr<const AdaptivePolicy> fallback,
                             LearnedSettings settings, std::shared_ptr<DecisionCounters> counters,
                             NowFunction now)
    : model_(std::move(model)),
      fallback_(std::move(fallback)),
      settings_(settings),
      counters_(std::move(counters)),
      now_(std::move(now)) {
  if (!model_) throw std::invalid_argument("the learned policy needs a model slot");
  if (!fallback_) throw std::invalid_argument("the learned policy needs its adaptive fallback");
  if (!counters_) throw std::invalid_argument("the learned policy needs decision counters");
  if (!now_) throw std::invalid_argument("the learned policy needs a clock");
  settings_.validate();
}

std::optional<FlushReason> LearnedPolicy::decide_at(const GroupState& group,
                                                    TimePoint now) const noexcept {
  const std::shared_ptr<const CompiledModel> model = model_->current();
  if (!model) return fall_back(Fallback::no_model, group, now);
  const Observation obs = fallback_->signals()->observe(group, now);
  std::array<float, k_logit_count> logits{};
  const TimePoint started = now_();
  try {
    logits = model->evaluate(obs);
  } catch (const std::exception&) {
    return fall_back(Fallback::error, group, now);
  }
  const auto elapsed = now_() - started;
  if (!std::isfinite(logits[0]) || !std::isfinite(logits[1])) {
    return fall_back(Fallback::error, group, now);
  }
  if (elapsed > settings_.decision_deadline) return fall_back(Fallback::deadline, group, now);
  counters_->count_model_decision();
  if (logits[1] > logits[0]) return FlushReason::policy;
  return std::nullopt;
}

std::optional<FlushReason> LearnedPolicy::fall_back(Fallback reason, const GroupState& group,
                                                    TimePoint now) const noexcept {
  counters_->count_fallback(reason);
  return fallback_->decide_at(group, now);
}

}  // namespace levee::policy
