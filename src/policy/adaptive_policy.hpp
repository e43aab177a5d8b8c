#pragma once
// `adaptive` (DESIGN.md "Flush policies", issue 7): flush a waiting group when waiting longer
// is no longer expected to pay for its latency, judged from the route's measured arrival
// rate and upstream latency (RouteSignals).
//
// The rule. A group of n members at age a, on a route with arrival rate lambda (requests/s,
// RouteSignals' moving rate), inside the envelope max_wait W and size cap C:
//   - If the group waited out its window it would hold about
//       n_W = min(n + lambda·(W - a), C)
//     members, and cost 1/n_W upstream calls per request instead of 1/n now. The operator's
//     W says how much latency full batching is worth; `reduction_slack` says how much of the
//     upstream reduction (1 - calls/requests) they will give back for less of it. The group
//     goes once waiting out the window would save at most that much:
//       (enough)      1/n - 1/n_W <= reduction_slack
//     Dense traffic thus fills groups to about n* = 1/(reduction_slack + 1/n_W) instead of
//     waiting for W (at 2,000/s, W = 50 ms, slack 0.0075: ~57 members at ~28 ms instead of
//     100 at 50 ms, reduction 98.2 % instead of 99 %); a burst that is over (waves) is sent
//     once the window it would still wait could not bring enough arrivals to matter.
//   - Waiting is pointless when the next member is not expected before the envelope sends
//     the group anyway:
//       (too_late)    1 / lambda > W - a
//     (for Poisson arrivals: the chance of no arrival before the deadline is above e^-1), so
//     sparse traffic is sent at once instead of being held for a partner who is not coming.
//   - No measured arrivals (lambda = 0): flush at once (no_traffic).
//   - An empty group (n = 0) waits: there is nothing to send.
// The rule is monotone: a larger n, a larger a or a smaller lambda never turns a flush into a
// wait. Upstream latency does not enter it: a first version flushed at n >= lambda·L (the
// arrivals during one upstream call), which against a fast upstream sent nearly every
// request alone; the latency is part of the learned policy's observation instead.
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
  // Upstream calls per request the policy may give back, compared with waiting out max_wait.
  double reduction_slack = 0.0075;
  // Between arrivals the group's owner asks again this often (FlushPolicy::tick); 0: never.
  Duration tick{0};

  // Throws std::invalid_argument unless reduction_slack is in (0, 1) and tick is not negative
  // (start-up only).
  void validate() const;
};

// Which part of the rule decided (for tests, logs and telemetry).
enum class AdaptiveVerdict : std::uint8_t { wait, no_traffic, enough, too_late };

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
  [[nodiscard]] std::chrono::nanoseconds tick() const noexcept override { return settings_.tick; }

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
