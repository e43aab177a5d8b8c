#include "layers/collapse/slot_table.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>

namespace levee::layers::collapse {

Waiter::Waiter(const boost::asio::any_io_executor& executor)
    : executor_(executor), timer_(executor, boost::asio::steady_timer::time_point::max()) {}

SlotTable::SlotTable(std::size_t max_slots, std::size_t max_waiters)
    : max_slots_(max_slots), max_waiters_(max_waiters) {}

Joined SlotTable::join(CollapseKey key) {
  Shard& shard = shards_[key.hash % k_shards];
  std::lock_guard lock(shard.mutex);
  auto [first, last] = shard.slots.equal_range(key.hash);
  for (auto it = first; it != last; ++it) {
    Slot& slot = *it->second;
    // max_waiters counts the followers; the leader is not waiting, it is calling.
    if (slot.key == key && slot.members <= max_waiters_) {
      ++slot.members;
      return {Role::follower, it->second};
    }
  }
  // The count is only raised under a shard lock, so two shards can race past the limit by
  // one each at most; the bound is approximate by design (it is a memory guard).
  if (slot_count_.load(std::memory_order_relaxed) >= max_slots_) return {Role::bypass, nullptr};
  slot_count_.fetch_add(1, std::memory_order_relaxed);
  auto slot = std::make_shared<Slot>(std::move(key));
  shard.slots.emplace(slot->key.hash, slot);
  return {Role::leader, std::move(slot)};
}

SharedResponse SlotTable::wait_or_take(const std::shared_ptr<Slot>& slot,
                                       const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard lock(shard_of(*slot).mutex);
  if (slot->finished) return slot->response;
  slot->waiters.push_back(waiter);
  waiter_count_.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

SharedResponse SlotTable::response_of(const std::shared_ptr<Slot>& slot) {
  std::lock_guard lock(shard_of(*slot).mutex);
  return slot->response;
}

std::size_t SlotTable::members_of(const std::shared_ptr<Slot>& slot) {
  std::lock_guard lock(shard_of(*slot).mutex);
  return slot->members;
}

void SlotTable::leave(const std::shared_ptr<Slot>& slot, const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard lock(shard_of(*slot).mutex);
  auto& waiters = slot->waiters;
  if (auto it = std::find(waiters.begin(), waiters.end(), waiter); it != waiters.end()) {
    waiters.erase(it);
    waiter_count_.fetch_sub(1, std::memory_order_relaxed);
  }
  if (!slot->finished && slot->members > 0) --slot->members;
}

std::size_t SlotTable::finish(const std::shared_ptr<Slot>& slot, SharedResponse response) {
  std::vector<std::shared_ptr<Waiter>> to_wake;
  std::size_t members = 0;
  {
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
    slot->response = std::move(response);
    members = slot->members;
    to_wake.swap(slot->waiters);
    waiter_count_.fetch_sub(to_wake.size(), std::memory_order_relaxed);
  }
  // Each waiter is woken on its own executor: the timer is only touched by its own thread,
  // and a waiter that registered just before this runs is already waiting when the post
  // executes (registration and the wait start in one step on that executor).
  for (auto& waiter : to_wake) {
    boost::asio::post(waiter->executor(), [waiter] { waiter->timer().cancel(); });
  }
  return members;
}

}  // namespace levee::layers::collapse
