#include "policy/adaptive_policy.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace levee::policy {

void AdaptiveSettings::validate() const {
  if (!(reduction_slack > 0.0 && reduction_slack < 1.0)) {
    throw std::invalid_argument("adaptive reduction_slack must be between 0 and 1");
  }
  if (tick < Duration::zero()) throw std::invalid_argument("adaptive tick must not be negative");
}

std::string_view to_string(AdaptiveVerdict verdict) noexcept {
  switch (verdict) {
    case AdaptiveVerdict::wait:
      return "wait";
    case AdaptiveVerdict::no_traffic:
      return "no_traffic";
    case AdaptiveVerdict::enough:
      return "enough";
    case AdaptiveVerdict::too_late:
      return "too_late";
  }
  return "unknown";
}

AdaptivePolicy::AdaptivePolicy(std::shared_ptr<const RouteSignals> signals,
                               AdaptiveSettings settings, NowFunction now)
    : signals_(std::move(signals)), settings_(settings), now_(std::move(now)) {
  if (!signals_) throw std::invalid_argument("the adaptive policy needs route signals");
  if (!now_) throw std::invalid_argument("the adaptive policy needs a clock");
  settings_.validate();
}

AdaptiveVerdict AdaptivePolicy::evaluate(const GroupState& group, const SignalSnapshot& signals,
                                         const AdaptiveSettings& settings) noexcept {
  if (group.size == 0) return AdaptiveVerdict::wait;
  const double rate = signals.arrival_rate;
  if (!(rate > 0.0) || !std::isfinite(rate)) return AdaptiveVerdict::no_traffic;

  const double remaining = std::max(0.0, std::chrono::duration<double>(group.max_wait).count() -
                                             std::chrono::duration<double>(group.age).count());
  if (1.0 / rate > remaining) return AdaptiveVerdict::too_late;

  const auto n = static_cast<double>(group.size);
  double at_deadline = n + rate * remaining;
  if (group.size_cap != 0) at_deadline = std::min(at_deadline, static_cast<double>(group.size_cap));
  at_deadline = std::max(at_deadline, n);
  if (1.0 / n - 1.0 / at_deadline <= settings.reduction_slack) return AdaptiveVerdict::enough;
  return AdaptiveVerdict::wait;
}

std::optional<FlushReason> AdaptivePolicy::decide_at(const GroupState& group,
                                                     TimePoint now) const noexcept {
  if (evaluate(group, signals_->snapshot(now), settings_) == AdaptiveVerdict::wait) {
    return std::nullopt;
  }
  return FlushReason::policy;
}

}  // namespace levee::policy
