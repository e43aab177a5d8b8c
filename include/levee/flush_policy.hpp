#pragma once
// When a waiting group goes upstream (DESIGN.md "Flush policies"): one interface for a
// collapse `window` slot and for a batch. The group's owner checks the envelope first and
// unconditionally (size cap, byte cap, max_wait); a policy is asked only inside it, on each
// arrival, and can only make the group go earlier.
//
// Threading: a policy is shared by every worker of a route and asked under the group owner's
// lock, so decide() must be thread-safe and quick (no I/O, no allocation).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace levee {

// Why a group went upstream (levee_batch_flush_total's `reason` label).
// duplicate_key: a batch item whose exclusive key (an item id) the open batch already holds.
enum class FlushReason { immediate, timeout, size_cap, bytes_cap, policy, shutdown, duplicate_key };
inline constexpr std::size_t k_flush_reasons = 7;

[[nodiscard]] constexpr std::string_view to_string(FlushReason reason) noexcept {
  switch (reason) {
    case FlushReason::immediate:
      return "immediate";
    case FlushReason::timeout:
      return "timeout";
    case FlushReason::size_cap:
      return "size_cap";
    case FlushReason::bytes_cap:
      return "bytes_cap";
    case FlushReason::policy:
      return "policy";
    case FlushReason::shutdown:
      return "shutdown";
    case FlushReason::duplicate_key:
      return "duplicate_key";
  }
  return "unknown";
}

// What a policy sees of a group, at an arrival or a tick.
struct GroupState {
  std::size_t size = 0;  // members now, the arrival included
  std::size_t size_cap = 0;
  std::size_t bytes = 0;
  std::size_t bytes_cap = 0;  // 0: no byte cap (collapse)
  std::chrono::nanoseconds age{0};
  std::chrono::nanoseconds max_wait{0};
  // Since the newest member joined (0 at an arrival; the age while only the opener waits).
  std::chrono::nanoseconds since_last_arrival{0};
  // Members that joined within the last GroupArrivals::growth_window(max_wait), the newest
  // included: how fast the group is still growing.
  std::size_t recent_arrivals = 0;
  // From the opening to the newest member's arrival: over size - 1, the group's own mean gap
  // between arrivals (a burst's is microseconds even when the route's average is not).
  std::chrono::nanoseconds arrival_span{0};
};

// When each member of one waiting group arrived, as offsets from the group's opening: what
// a policy needs to tell a group that stopped growing from one still filling (GroupState's
// since_last_arrival and recent_arrivals), and what flush telemetry records so that a trace
// can be replayed offline. Memory grows with the members, which the size cap bounds.
//
// Threading: none of its own; the group's owner guards it with the group's lock.
class GroupArrivals {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // The "last few ms" of recent_arrivals: a thirty-second of max_wait (1.5625 ms of 50 ms).
  [[nodiscard]] static constexpr std::chrono::nanoseconds growth_window(
      std::chrono::nanoseconds max_wait) noexcept {
    return max_wait / 32;
  }

  GroupArrivals() = default;
  explicit GroupArrivals(TimePoint opened) { open(opened); }

  // The opener arrived: forgets any earlier group.
  void open(TimePoint at) {
    opened_ = at;
    offsets_.clear();
    offsets_.push_back(0);
  }
  // A member joined. Times are kept in order: a clock read that lost a race to the lock
  // counts as the newest arrival's time.
  void add(TimePoint at) {
    const std::int64_t offset = (at - opened_).count();
    offsets_.push_back(offsets_.empty() ? offset : std::max(offset, offsets_.back()));
  }

  // Fills `state`'s arrival fields as of `now` (size, age and max_wait are the owner's).
  void describe(GroupState& state, TimePoint now) const noexcept {
    if (offsets_.empty()) return;
    const std::int64_t at = (now - opened_).count();
    state.since_last_arrival =
        std::chrono::nanoseconds(std::max<std::int64_t>(at - offsets_.back(), 0));
    const std::int64_t from = at - growth_window(state.max_wait).count();
    const auto first_recent = std::lower_bound(offsets_.begin(), offsets_.end(), from);
    state.recent_arrivals = static_cast<std::size_t>(offsets_.end() - first_recent);
    state.arrival_span = std::chrono::nanoseconds(offsets_.back());
  }

  [[nodiscard]] TimePoint opened() const noexcept { return opened_; }
  // Each member's arrival after the opening, in ns, ascending; the first is 0.
  [[nodiscard]] std::span<const std::int64_t> offsets() const noexcept { return offsets_; }

 private:
  TimePoint opened_{};
  std::vector<std::int64_t> offsets_;
};

class FlushPolicy {
 public:
  FlushPolicy() = default;
  FlushPolicy(const FlushPolicy&) = delete;
  FlushPolicy& operator=(const FlushPolicy&) = delete;
  virtual ~FlushPolicy() = default;

  // A reason to send the group now, or nullopt to keep waiting (the envelope still fires).
  [[nodiscard]] virtual std::optional<FlushReason> decide(const GroupState& group) const = 0;
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  // How often the owner asks again while a group waits between arrivals (the arrival rate a
  // policy measures decays while no one arrives); zero: only on arrivals.
  [[nodiscard]] virtual std::chrono::nanoseconds tick() const noexcept {
    return std::chrono::nanoseconds::zero();
  }
  // Whether the policy's answer depends on the group: false for `immediate` (always now) and
  // the envelope-only policies (never); flush telemetry records an action only when true.
  [[nodiscard]] virtual bool decides() const noexcept { return true; }
};

// `immediate`: every group goes at once (singleflight for collapse, no batching for batch).
class ImmediatePolicy final : public FlushPolicy {
 public:
  [[nodiscard]] std::optional<FlushReason> decide(const GroupState&) const override {
    return FlushReason::immediate;
  }
  [[nodiscard]] std::string_view name() const noexcept override { return "immediate"; }
  [[nodiscard]] bool decides() const noexcept override { return false; }
};

// `timer` and `size`: never earlier than the envelope. They differ only in the envelope they
// come with (timer: max_wait is the trigger; size: the size cap is, max_wait bounds it), which
// is configuration, not a decision.
class EnvelopePolicy final : public FlushPolicy {
 public:
  explicit EnvelopePolicy(std::string_view name) : name_(name) {}
  [[nodiscard]] std::optional<FlushReason> decide(const GroupState&) const override {
    return std::nullopt;
  }
  [[nodiscard]] std::string_view name() const noexcept override { return name_; }
  [[nodiscard]] bool decides() const noexcept override { return false; }

 private:
  std::string_view name_;  // a literal: "timer" or "size"
};

}  // namespace levee
