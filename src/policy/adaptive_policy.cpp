#include "policy/adaptive_policy.hpp"

#include <cmath>
#include <stdexcept>
#include <utility>

namespace levee::policy {

void AdaptiveSettings::validate() const {
  if (!(std::isfinite(fill_factor) && fill_factor > 0.0)) {
    throw std::invalid_argument("adaptive fill_factor must be a positive number");
  }
}

std::string_view to_string(AdaptiveVerdict verdict) noexcept {
  switch (verdict) {
    case AdaptiveVerdict::wait:
      return "wait";
    case AdaptiveVerdict::no_traffic:
      return "no_traffic";
    case AdaptiveVerdict::filled:
      return "filled";
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

  const double max_wait = std::chrono::duration<double>(group.max_wait).count();
  const double latency = signals.upstream_p99
                             ? std::chrono::duration<double>(*signals.upstream_p99).count()
                             : max_wait;
  const double target = settings.fill_factor * rate * latency;
  if (static_cast<double>(group.size) >= target) return AdaptiveVerdict::filled;

  const double budget = max_wait - std::chrono::duration<double>(group.age).count();
  if (1.0 / rate > budget) return AdaptiveVerdict::too_late;
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
