#include "layers/collapse/slot_table.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>

namespace levee::layers::collapse {

SlotTable::SlotTable(std::size_t max_slots, std::size_t max_waiters, Strategy strategy,
                     std::chrono::nanoseconds leader_age, std::shared_ptr<const FlushPolicy> policy,
                     std::chrono::nanoseconds max_wait, std::size_t replay_bytes)
    : max_slots_(max_slots),
      max_waiters_(max_waiters),
      strategy_(strategy),
      leader_age_(leader_age),
      policy_(std::move(policy)),
      max_wait_(max_wait),
      replay_bytes_(replay_bytes) {}

Joined SlotTable::join(CollapseKey key) {
  Shard& shard = shards_[key.hash % k_shards];
  std::lock_guard lock(shard.mutex);
  auto [first, last] = shard.slots.equal_range(key.hash);
  for (auto it = first; it != last; ++it) {
    Slot& slot = *it->second;
    // max_waiters counts the followers; the leader is not waiting, it is calling.
    // An abandoned call (every member left) is being cancelled: not one to join.
    if (slot.key == key && slot.members <= max_waiters_ && !slot.dispatched &&
        !slot.call->abandoned()) {
      const auto now = std::chrono::steady_clock::now();
      ++slot.members;
      slot.arrivals.add(now);
      slot.call->add_member();
      waiter_count_.fetch_add(1, std::memory_order_relaxed);
      if (strategy_ == Strategy::window && !slot.flush_now) {
        // The envelope first; the policy can only send the slot earlier.
        if (slot.members > max_waiters_) {
          slot.decide(FlushReason::size_cap, now);
        } else if (policy_) {
          slot.decide(policy_->decide(state_locked(slot, now)), now);
        }
        if (slot.flush_now && slot.parked_leader) Waiter::wake(slot.parked_leader);
      }
      // A slow leader (nginx's proxy_cache_lock_age): one more call may go upstream.
      if (strategy_ == Strategy::inflight && leader_age_ > std::chrono::nanoseconds::zero() &&
          !slot.second_call && now - slot.opened_at > leader_age_) {
        slot.second_call = true;
        return {Role::second_leader, it->second};
      }
      return {Role::follower, it->second};
    }
  }
  // The count is only raised under a shard lock, so two shards can race past the limit by
  // one each at most; the bound is approximate by design (it is a memory guard).
  if (slot_count_.load(std::memory_order_relaxed) >= max_slots_) return {Role::bypass, nullptr};
  slot_count_.fetch_add(1, std::memory_order_relaxed);
  auto slot = std::make_shared<Slot>(std::move(key), replay_bytes_);
  slot->call->add_member();
  shard.slots.emplace(slot->key.hash, slot);
  return {Role::leader, std::move(slot)};
}

bool SlotTable::park_leader(const std::shared_ptr<Slot>& slot,
                            const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard lock(shard_of(*slot).mutex);
  if (flushing_all_.load(std::memory_order_relaxed)) {
    slot->decide(FlushReason::shutdown, std::chrono::steady_clock::now());
  }
  if (slot->flush_now) return false;
  slot->parked_leader = waiter;
  return true;
}

std::optional<FlushReason> SlotTable::ask_on_tick(const std::shared_ptr<Slot>& slot) {
  std::lock_guard lock(shard_of(*slot).mutex);
  if (!slot->flush_now && policy_) {
    const auto now = std::chrono::steady_clock::now();
    slot->decide(policy_->decide(state_locked(*slot, now)), now);
  }
  return slot->flush_now;
}

GroupState SlotTable::state_locked(const Slot& slot,
                                   std::chrono::steady_clock::time_point now) const noexcept {
  GroupState state{slot.members, max_waiters_ + 1, 0, 0, now - slot.opened_at, max_wait_};
  slot.arrivals.describe(state, now);
  return state;
}

GroupState SlotTable::state_of(const std::shared_ptr<Slot>& slot) {
  std::lock_guard lock(shard_of(*slot).mutex);
  return state_locked(*slot, std::chrono::steady_clock::now());
}

Departure SlotTable::dispatch(const std::shared_ptr<Slot>& slot, FlushReason otherwise,
                              std::chrono::steady_clock::time_point otherwise_at) {
  std::lock_guard lock(shard_of(*slot).mutex);
  slot->dispatched = true;
  slot->parked_leader.reset();
  const auto now = std::chrono::steady_clock::now();
  if (slot->flush_now) {
    return {state_locked(*slot, now), *slot->flush_now, std::min(slot->flush_decided_at, now)};
  }
  return {state_locked(*slot, now), otherwise, std::min(otherwise_at, now)};
}

void SlotTable::flush_all() {
  flushing_all_.store(true, std::memory_order_relaxed);
  const auto now = std::chrono::steady_clock::now();
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (auto& [hash, slot] : shard.slots) {
      if (slot->dispatched || slot->flush_now) continue;
      slot->decide(FlushReason::shutdown, now);
      if (slot->parked_leader) Waiter::wake(slot->parked_leader);
    }
  }
}

std::size_t SlotTable::members_of(const std::shared_ptr<Slot>& slot) {
  std::lock_guard lock(shard_of(*slot).mutex);
  return slot->members;
}

void SlotTable::leave(const std::shared_ptr<Slot>& slot) {
  std::lock_guard lock(shard_of(*slot).mutex);
  if (slot->finished || slot->members <= 1) return;
  --slot->members;
  waiter_count_.fetch_sub(1, std::memory_order_relaxed);
}

std::size_t SlotTable::finish(const std::shared_ptr<Slot>& slot) {
  Shard& shard = shard_of(*slot);
  std::lock_guard lock(shard.mutex);
  if (slot->finished) return 0;
  auto [first, last] = shard.slots.equal_range(slot->key.hash);
  for (auto it = first; it != last; ++it) {
    if (it->second == slot) {
      shard.slots.erase(it);
      slot_count_.fetch_sub(1, std::memory_order_relaxed);
      break;
    }
  }
  slot->finished = true;
  slot->dispatched = true;
  slot->parked_leader.reset();
  waiter_count_.fetch_sub(slot->members - 1, std::memory_order_relaxed);
  return slot->members;
}

}  // namespace levee::layers::collapse
