#pragma once
// The route's table of collapse slots, shared by every worker thread (DESIGN.md "Collapse":
// collapsing is global across workers). A slot is one upstream call in flight; the request
// that opened it is its leader, later requests with an equal key join it as followers until
// it is full (max_waiters: the next request opens a second slot for the key). When the table
// holds max_slots slots a request is told to bypass it: collapsing is an optimisation and
// never a reason to refuse a request.
//
// Threading: every function may be called from any thread; a slot's state is guarded by its
// shard's mutex (keys are spread over shards by hash). Followers are woken by an event on
// their own executor (asio::post of a timer cancel), never by polling, and the response is
// shared, not copied per member (its body is a shared buffer).
//
// Lifetime: finish() removes the slot from the table before it wakes anyone, so a request
// that arrives after the answer exists opens a new slot (fresh reads). A follower that
// leaves before the answer (client gone, coroutine destroyed) takes its waiter out with it.

#include <array>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/response.hpp"
#include "layers/collapse/collapse_key.hpp"
#include "layers/collapse/shared_call.hpp"
#include "levee/flush_policy.hpp"

namespace levee::layers::collapse {

// Why a slot went upstream (levee_batch_flush_total's reason label): the reasons shared with
// batches (include/levee/flush_policy.hpp).
using levee::FlushReason;

struct Slot {
  Slot(CollapseKey slot_key, std::size_t replay_bytes)
      : key(std::move(slot_key)), call(std::make_shared<SharedCall>(replay_bytes)) {}
  const CollapseKey key;
  // The slot's upstream call and its answer; every member is counted in it (add_member).
  const std::shared_ptr<SharedCall> call;
  // Guarded by the shard's mutex:
  std::size_t members = 1;   // the leader and the followers that joined
  bool dispatched = false;   // window: gone upstream, closed to new members
  bool second_call = false;  // inflight: a second leader went upstream after leader_age
  std::chrono::steady_clock::time_point opened_at = std::chrono::steady_clock::now();
  // Every member's arrival (the policy's signals and flush telemetry); read without the lock
  // only once the slot is finished (no one joins it then).
  GroupArrivals arrivals{opened_at};
  bool finished = false;
  std::optional<FlushReason> flush_now;  // window: full, the policy said so, or shutdown
  std::chrono::steady_clock::time_point flush_decided_at{};  // when flush_now was set
  std::shared_ptr<Waiter> parked_leader;                     // window: the leader waiting to flush

  // Records that the slot should go, and since when (its members' wait ends there). The
  // first reason stands; nullopt (the policy said wait) records nothing.
  void decide(std::optional<FlushReason> reason, std::chrono::steady_clock::time_point at) {
    if (flush_now || !reason) return;
    flush_now = reason;
    flush_decided_at = at;
  }
};

// second_leader: joined an inflight slot older than leader_age that had no second call yet;
// it calls upstream too, and whichever answer comes first serves the slot.
enum class Role { leader, follower, second_leader, bypass };

struct Joined {
  Role role = Role::bypass;
  std::shared_ptr<Slot> slot;  // null for bypass
};

// A window slot as it goes: what the policy saw, why it goes, and when it was due to go (its
// members' wait ends there; the time the leader takes to get its call going is levee's).
struct Departure {
  GroupState state;
  FlushReason reason = FlushReason::immediate;
  std::chrono::steady_clock::time_point left_at{};
};

// inflight: a slot takes members until its answer is in. window: only until it is
// dispatched, and a slot that fills up (max_waiters followers) is dispatched at once.
enum class Strategy { inflight, window };

class SlotTable {
 public:
  // leader_age (inflight, 0 = off): a slot older than this lets one more request go upstream.
  // policy (window; null = envelope only): asked at each follower's arrival whether the slot
  // should go now, after the size cap; max_wait is what it is told of the time envelope.
  SlotTable(std::size_t max_slots, std::size_t max_waiters, Strategy strategy = Strategy::inflight,
            std::chrono::nanoseconds leader_age = std::chrono::nanoseconds::zero(),
            std::shared_ptr<const FlushPolicy> policy = nullptr,
            std::chrono::nanoseconds max_wait = std::chrono::nanoseconds::zero(),
            std::size_t replay_bytes = 64 * 1024 * 1024);
  SlotTable(const SlotTable&) = delete;
  SlotTable& operator=(const SlotTable&) = delete;

  // Joins the open slot for `key` that has room, or opens one (leader), or says bypass.
  [[nodiscard]] Joined join(CollapseKey key);

  // Window leader: parks until the slot should go upstream. Returns false (and does not park)
  // when it already should: it filled up, or the table is flushing for shutdown. Otherwise the
  // leader waits on `waiter`'s timer (armed by the caller for max_wait); a fill or a shutdown
  // cancels it.
  [[nodiscard]] bool park_leader(const std::shared_ptr<Slot>& slot,
                                 const std::shared_ptr<Waiter>& waiter);
  // Window leader, at a policy tick between arrivals: the reason the slot should go now (one
  // an arrival recorded, or the policy's answer now), or nullopt to keep waiting.
  [[nodiscard]] std::optional<FlushReason> ask_on_tick(const std::shared_ptr<Slot>& slot);
  // What the policy sees of the slot now (window leader: at its own arrival).
  [[nodiscard]] GroupState state_of(const std::shared_ptr<Slot>& slot);

  // Window leader: closes the slot to new members. Returns the slot as it goes (its size is
  // the members it answers; what flush telemetry records) and why and since when it should
  // go: the reason recorded on the slot (full, policy, shutdown) and when it was recorded,
  // else `otherwise` at `otherwise_at` (timeout at the max_wait deadline, however late the
  // leader's timer fired, or the leader's own policy decision).
  Departure dispatch(const std::shared_ptr<Slot>& slot, FlushReason otherwise,
                     std::chrono::steady_clock::time_point otherwise_at);
  // Shutdown: every parked window slot goes upstream now, and later ones at once.
  void flush_all();

  // The members the slot's answer served (final once the slot is finished).
  [[nodiscard]] std::size_t members_of(const std::shared_ptr<Slot>& slot);
  // A member that gives up before the slot is finished.
  void leave(const std::shared_ptr<Slot>& slot);
  // The slot's call ended: takes the slot out of the table, so that a request that arrives
  // now opens a new one (fresh reads). Returns the members it served; 0 when already done.
  std::size_t finish(const std::shared_ptr<Slot>& slot);

  [[nodiscard]] std::size_t max_waiters() const noexcept { return max_waiters_; }
  [[nodiscard]] std::chrono::nanoseconds max_wait() const noexcept { return max_wait_; }
  [[nodiscard]] std::size_t slots() const noexcept {
    return slot_count_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t waiters() const noexcept {
    return waiter_count_.load(std::memory_order_relaxed);
  }

 private:
  static constexpr std::size_t k_shards = 32;
  struct Shard {
    std::mutex mutex;
    std::unordered_multimap<std::uint64_t, std::shared_ptr<Slot>> slots;
  };
  Shard& shard_of(const Slot& slot) noexcept { return shards_[slot.key.hash % k_shards]; }
  // Under the slot's shard lock.
  [[nodiscard]] GroupState state_locked(const Slot& slot,
                                        std::chrono::steady_clock::time_point now) const noexcept;

  const std::size_t max_slots_;
  const std::size_t max_waiters_;
  const Strategy strategy_;
  const std::chrono::nanoseconds leader_age_;
  const std::shared_ptr<const FlushPolicy> policy_;
  const std::chrono::nanoseconds max_wait_;
  const std::size_t replay_bytes_;
  std::atomic<bool> flushing_all_{false};
  std::array<Shard, k_shards> shards_;
  std::atomic<std::size_t> slot_count_{0};
  std::atomic<std::size_t> waiter_count_{0};
};

}  // namespace levee::layers::collapse
