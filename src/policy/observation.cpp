#include "policy/observation.hpp"

#include <algorithm>
#include <cmath>

namespace levee::policy {
namespace {

[[nodiscard]] double seconds(std::chrono::nanoseconds d) noexcept {
  return std::chrono::duration<double>(d).count();
}

// A ratio clamped to [0, 1]; a zero bound counts as reached (1, or 0 for a zero amount).
[[nodiscard]] float bounded_ratio(double amount, double bound) noexcept {
  if (!(bound > 0.0)) return amount > 0.0 ? 1.0F : 0.0F;
  const double ratio = amount / bound;
  if (!(ratio > 0.0)) return 0.0F;  // NaN included
  return static_cast<float>(std::min(ratio, 1.0));
}

[[nodiscard]] float unit_clamp(double value) noexcept {
  if (!(value > 0.0)) return 0.0F;
  return static_cast<float>(std::min(value, 1.0));
}

// A duration on the log time scale of the header, relative to max_wait.
[[nodiscard]] float log_time(double duration_s, double max_wait_s) noexcept {
  if (!(max_wait_s > 0.0)) return duration_s > 0.0 ? 1.0F : 0.0F;
  const double scaled = k_observation_time_resolution * duration_s / max_wait_s;
  if (!(scaled > 0.0)) return 0.0F;
  return unit_clamp(std::log1p(scaled) / std::log1p(k_observation_time_resolution));
}

}  // namespace

Observation make_observation(const GroupState& group, const SignalSnapshot& signals) noexcept {
  const double p99_ms =
      signals.upstream_p99
          ? std::chrono::duration<double, std::milli>(*signals.upstream_p99).count()
          : 0.0;
  const double max_wait_s = seconds(group.max_wait);
  const double size = static_cast<double>(group.size);
  const double short_rate = signals.short_arrival_rate;
  const bool measured = short_rate > 0.0 && std::isfinite(short_rate);
  const double remaining_s = std::max(max_wait_s - seconds(group.age), 0.0);
  const double expected = measured ? short_rate * remaining_s : 0.0;
  return {
      bounded_ratio(size, static_cast<double>(group.size_cap)),
      bounded_ratio(seconds(group.age), max_wait_s),
      unit_clamp(std::log1p(std::max(p99_ms, 0.0)) / std::log1p(k_observation_latency_ms)),
      unit_clamp(std::tanh(signals.arrival_rate / k_observation_rate_per_s)),
      log_time(seconds(group.since_last_arrival), max_wait_s),
      measured ? log_time(1.0 / short_rate, max_wait_s) : 1.0F,
      size > 0.0 ? unit_clamp(static_cast<double>(group.recent_arrivals) / size) : 0.0F,
      expected + size > 0.0 ? unit_clamp(expected / (expected + size)) : 0.0F,
      size > 1.0 ? log_time(seconds(group.arrival_span) / (size - 1.0), max_wait_s) : 1.0F,
  };
}

std::optional<std::string> observation_mismatch(const CompiledModel& model) {
  const std::string wanted = "this levee computes observation version " +
                             std::to_string(k_observation_version) + " with " +
                             std::to_string(k_observation_size) +
                             " features (docs/policies.md \"Observation\"); retrain it with "
                             "`make train`";
  if (model.observation_version() == 0) {
    return "the model declares no observation version (ONNX metadata 'levee.observation_version'"
           "; a model from before version 2 has 4 inputs); " +
           wanted;
  }
  if (model.observation_version() != k_observation_version ||
      model.input_width() != k_observation_size) {
    return "the model declares observation version " + std::to_string(model.observation_version()) +
           " with " + std::to_string(model.input_width()) + " inputs; " + wanted;
  }
  return std::nullopt;
}

}  // namespace levee::policy
