#pragma once
// `adaptive` (DESIGN.md "Flush policies", issue 7): flush a waiting group when waiting longer
// is no longer expected to pay for its latency, judged from the route's measured arrival
// rate and upstream latency (RouteSignals).
//
// The rule. A group of n members at age a, on a route with arrival rate lambda (requests/s)
// and upstream latency L (the p99 of the route's upstream calls, seconds), within the
// envelope max_wait W:
//   - Waiting a further dt brings about lambda·dt more members, each saving one upstream
//     call; a call costs about L, so the saving is lambda·dt·L. It delays the n members
//     already waiting by dt each: n·dt. Saving per unit of added latency: lambda·L / n.
//     It falls as the group grows, so waiting pays while n < lambda·L, and the group goes once
//       (filled)   n >= fill_factor · lambda · L
//     lambda·L is the number of requests that arrive during one upstream call. Sparse
//     traffic (lambda·L < 1) flushes every arrival at once; dense traffic (lambda·L above the
//     size cap) waits for the cap, or for W.
//   - Even below that size, waiting is pointless when the next member is not expected before
//     the envelope sends the group anyway:
//       (too_late) 1 / lambda > W - a
//     (for Poisson arrivals: the chance of no arrival before the deadline is above e^-1).
//   - No measured arrivals (lambda = 0): flush at once (no_traffic).
//   - No upstream call measured yet in the latency window: L = W, the wait the operator
//     accepts; then (filled) flushes at the size the timer would have gathered.
//   - An empty group (n = 0) waits: there is nothing to send.
// The rule is monotone: a larger n, a larger a, a smaller lambda or a smaller L never turns
// a flush into a wait. fill_factor (default 1) is its one constant: above 1 it batches more
// and waits longer, below 1 it goes sooner.
//
// Every flush it asks for has FlushReason::policy; the envelope (size cap, byte cap,
// max_wait) is the owner's and is checked before the policy is asked.
//
// Arrivals and upstream latencies are recorded into the RouteSignals by the route (the
// arrival being decided on included, before decide()); the policy only reads them.
// decide() reads the time from `now` (steady_clock by default); decide_at() takes it, for a
// timer tick between arrivals (the rate decays while no one arrives, so a tick can turn a
// wait into a flush) and for tests. Both are pure functions of the group and the signals.
//
// Threading: shared by every worker of a route; decide() and decide_at() are thread-safe,
// allocate nothing, and take only the RouteSignals' mutex (briefly), so they may run under
// the group owner's lock. The policy keeps its RouteSignals alive.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "levee/flush_policy.hpp"
#include "policy/route_signals.hpp"

namespace levee::policy {

struct AdaptiveSettings {
  // The group goes at fill_factor · (arrivals expected during one upstream call).
  double fill_factor = 1.0;

  // Throws std::invalid_argument unless fill_factor is finite and positive (start-up only).
  void validate() const;
};

// Which part of the rule decided (for tests, logs and telemetry).
enum class AdaptiveVerdict : std::uint8_t { wait, no_traffic, filled, too_late };

[[nodiscard]] std::string_view to_string(AdaptiveVerdict verdict) noexcept;

class AdaptivePolicy final : public FlushPolicy {
 public:
  using NowFunction = std::function<TimePoint()>;

  // Throws std::invalid_argument on a null `signals` or bad settings (start-up only).
  explicit AdaptivePolicy(std::shared_ptr<const RouteSignals> signals,
                          AdaptiveSettings settings = {},
                          NowFunction now = std::chrono::steady_clock::now);

  [[nodiscard]] std::optional<FlushReason> decide(const GroupState& group) const override {
    return decide_at(group, now_());
  }
  [[nodiscard]] std::optional<FlushReason> decide_at(const GroupState& group,
                                                     TimePoint now) const noexcept;
  [[nodiscard]] std::string_view name() const noexcept override { return "adaptive"; }

  // The rule itself, on signals already read.
  [[nodiscard]] static AdaptiveVerdict evaluate(const GroupState& group,
                                                const SignalSnapshot& signals,
                                                const AdaptiveSettings& settings) noexcept;

  [[nodiscard]] const AdaptiveSettings& settings() const noexcept { return settings_; }
  [[nodiscard]] const std::shared_ptr<const RouteSignals>& signals() const noexcept {
    return signals_;
  }

 private:
  std::shared_ptr<const RouteSignals> signals_;
  AdaptiveSettings settings_;
  NowFunction now_;
};

}  // namespace levee::policy
