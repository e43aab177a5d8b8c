#pragma once
// What a route's waiting groups report as they go (DESIGN.md "Flush policies",
// "Observability"): each arrival and each upstream call into the route's RouteSignals, which
// `adaptive` and `learned` decide from, and one FlushEvent per flush to flush telemetry.
//
// The event's observation is the group's at the moment it went, read from the signals (zeros
// on a route that measures nothing). Its action is what the policy said at that moment:
// FLUSH when the policy sent the group, WAIT when the envelope or shutdown did while the
// policy was still waiting, none for policies whose answer does not depend on the group
// (immediate, timer, size; FlushPolicy::decides).
//
// Threading: shared by every worker of a route; every member is thread-safe and never blocks
// (RouteSignals' short mutex, FlushTelemetry::record's lock-free queue).

#include <chrono>
#include <memory>
#include <string>

#include "levee/flush_policy.hpp"
#include "policy/route_signals.hpp"

namespace levee::telemetry {
class FlushTelemetry;
}  // namespace levee::telemetry

namespace levee::policy {

// One group that went upstream and was answered.
struct FlushedGroup {
  GroupState at_flush;  // size, caps and age when it went
  FlushReason reason = FlushReason::immediate;
  std::chrono::nanoseconds upstream_latency{0};
  int status = 0;                // upstream HTTP status; 0 when the call failed without one
  bool reached_upstream = true;  // false: levee answered it itself (shed, breaker open)
  // When its members arrived (flush telemetry's opened_unix_ns and arrivals_ns); null: not
  // recorded. Read during flushed() only.
  const GroupArrivals* arrivals = nullptr;
};

class FlushReporter {
 public:
  // `signals`: null when the route measures nothing. `telemetry`: null or disabled for none;
  // it must outlive the reporter's last use (the proxy stops it after the workers).
  FlushReporter(std::string route, std::shared_ptr<RouteSignals> signals,
                telemetry::FlushTelemetry* telemetry, std::string policy_name, bool policy_decides);

  void arrival(TimePoint now) noexcept {
    if (signals_) signals_->record_arrival(now);
  }
  void flushed(const FlushedGroup& group, TimePoint now) noexcept;

  // Whether flushed() needs the group's latency and status at all.
  [[nodiscard]] bool wants_flushes() const noexcept;
  [[nodiscard]] const std::shared_ptr<RouteSignals>& signals() const noexcept { return signals_; }

 private:
  const std::string route_;
  const std::shared_ptr<RouteSignals> signals_;
  telemetry::FlushTelemetry* const telemetry_;
  const std::string policy_name_;
  const bool policy_decides_;
};

}  // namespace levee::policy
