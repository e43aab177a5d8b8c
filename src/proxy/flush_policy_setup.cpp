#include "proxy/flush_policy_setup.hpp"

#include <utility>

#include "policy/adaptive_policy.hpp"
#include "policy/route_signals.hpp"
#include "telemetry/telemetry.hpp"

namespace levee::proxy {

FlushPolicySetup::FlushPolicySetup(admin::Registry& registry, telemetry::FlushTelemetry* telemetry)
    : registry_(registry), telemetry_(telemetry) {}

RoutePolicy FlushPolicySetup::make(const std::string& route, config::FlushPolicy kind,
                                   const config::PolicyTuning& tuning) {
  RoutePolicy made;
  std::shared_ptr<policy::RouteSignals> signals;
  switch (kind) {
    case config::FlushPolicy::immediate:
      made.policy = std::make_shared<ImmediatePolicy>();
      break;
    case config::FlushPolicy::timer:
      made.policy = std::make_shared<EnvelopePolicy>("timer");
      break;
    case config::FlushPolicy::size:
      made.policy = std::make_shared<EnvelopePolicy>("size");
      break;
    case config::FlushPolicy::adaptive:
    case config::FlushPolicy::learned: {
      signals = std::make_shared<policy::RouteSignals>();
      auto adaptive = std::make_shared<policy::AdaptivePolicy>(
          signals, policy::AdaptiveSettings{tuning.reduction_slack, tuning.tick});
      if (kind == config::FlushPolicy::adaptive) {
        made.policy = std::move(adaptive);
        break;
      }
      made.model =
          std::make_shared<policy::ModelSlot>(route, tuning.model, tuning.decision_deadline);
      ensure_families();
      made.model->count_to(&model_loads_->with({route, "loaded"}),
                           &model_loads_->with({route, "failed"}));
      registry_.replace_gauge_callback(
          "levee_policy_model_loaded",
          "1 while the route's learned policy has a model, 0 while it "
          "falls back to adaptive for want of one.",
          {{"route", route}}, [model = made.model] { return model->current() ? 1.0 : 0.0; });
      models_.push_back(made.model);
      made.policy = std::make_shared<policy::LearnedPolicy>(
          made.model, std::move(adaptive),
          policy::LearnedSettings{tuning.decision_deadline, tuning.tick}, decision_counters(route));
      break;
    }
  }
  // Signals only where a policy reads them; events only where telemetry is on. Telemetry on a
  // fixed policy's route still gets the observation's size and age features.
  const bool recording = telemetry_ != nullptr && telemetry_->enabled();
  if (signals || recording) {
    made.reporter = std::make_shared<policy::FlushReporter>(route, std::move(signals), telemetry_,
                                                            std::string(made.policy->name()),
                                                            made.policy->decides());
  }
  return made;
}

void FlushPolicySetup::ensure_families() {
  if (model_loads_ != nullptr) return;
  decisions_ = &registry_.counter_family(
      "levee_policy_model_decisions_total",
      "Decisions a learned policy's model made (the rest fell back to adaptive).", {"route"});
  fallbacks_ = &registry_.counter_family(
      "levee_policy_fallbacks_total",
      "Learned-policy decisions made by the adaptive fallback, by why: no_model, error "
      "(non-finite output), deadline (slower than decision_deadline).",
      {"route", "reason"});
  model_loads_ = &registry_.counter_family(
      "levee_policy_model_loads_total",
      "Loads of a learned policy's model file, by result (loaded, failed: the old model stays).",
      {"route", "result"});
}

std::shared_ptr<policy::DecisionCounters> FlushPolicySetup::decision_counters(
    const std::string& route) {
  auto counters = std::make_shared<policy::DecisionCounters>();
  counters->model_metric = &decisions_->with({route});
  for (std::size_t i = 0; i < policy::k_fallbacks; ++i) {
    counters->fallback_metrics[i] =
        &fallbacks_->with({route, policy::to_string(static_cast<policy::Fallback>(i))});
  }
  return counters;
}

}  // namespace levee::proxy
