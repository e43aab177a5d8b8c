#pragma once
// When a waiting group goes upstream (DESIGN.md "Flush policies"): one interface for a
// collapse `window` slot and for a batch. The group's owner checks the envelope first and
// unconditionally (size cap, byte cap, max_wait); a policy is asked only inside it, on each
// arrival, and can only make the group go earlier.
//
// Threading: a policy is shared by every worker of a route and asked under the group owner's
// lock, so decide() must be thread-safe and quick (no I/O, no allocation).

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

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

// What a policy sees of a group, at an arrival.
struct GroupState {
  std::size_t size = 0;  // members now, the arrival included
  std::size_t size_cap = 0;
  std::size_t bytes = 0;
  std::size_t bytes_cap = 0;  // 0: no byte cap (collapse)
  std::chrono::nanoseconds age{0};
  std::chrono::nanoseconds max_wait{0};
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
