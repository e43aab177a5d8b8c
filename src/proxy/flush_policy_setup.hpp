#pragma once
// Builds each route's flush policy from its config (DESIGN.md "Flush policies"): the policy
// object, the signals `adaptive` and `learned` measure, the route's FlushReporter (signals and
// flush telemetry), and for `learned` its ModelSlot with the adaptive fallback. Registers the
// policy metrics once, on first use.
//
// Threading: the controlling thread only (start-up and configuration reloads).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "admin/metric_registry.hpp"
#include "config/config.hpp"
#include "levee/flush_policy.hpp"
#include "policy/flush_reporter.hpp"
#include "policy/learned_policy.hpp"
#include "policy/model_slot.hpp"

namespace levee::telemetry {
class FlushTelemetry;
}  // namespace levee::telemetry

namespace levee::proxy {

struct RoutePolicy {
  std::shared_ptr<const FlushPolicy> policy;
  std::shared_ptr<policy::FlushReporter> reporter;  // null: nothing to report
  std::shared_ptr<policy::ModelSlot> model;         // learned only
};

class FlushPolicySetup {
 public:
  // `telemetry` may be null (none); it must outlive every route's reporter.
  FlushPolicySetup(admin::Registry& registry, telemetry::FlushTelemetry* telemetry);

  // The policy of a group on `route` (its [routes.collapse] or [routes.batch] settings).
  [[nodiscard]] RoutePolicy make(const std::string& route, config::FlushPolicy kind,
                                 const config::PolicyTuning& tuning);

  // The learned routes' models made since the last call, for the ModelWatcher of the
  // configuration being built (a reload builds its routes again).
  [[nodiscard]] std::vector<std::shared_ptr<policy::ModelSlot>> take_models() noexcept {
    return std::exchange(models_, {});
  }

 private:
  void ensure_families();
  [[nodiscard]] std::shared_ptr<policy::DecisionCounters> decision_counters(
      const std::string& route);

  admin::Registry& registry_;
  telemetry::FlushTelemetry* telemetry_;
  admin::CounterFamily* decisions_ = nullptr;
  admin::CounterFamily* fallbacks_ = nullptr;
  admin::CounterFamily* model_loads_ = nullptr;
  std::vector<std::shared_ptr<policy::ModelSlot>> models_;
};

}  // namespace levee::proxy
