#include "server/connection_gate.hpp"

namespace levee::server {

bool ConnectionGate::try_enter() noexcept {
  auto current = open_.load(std::memory_order_relaxed);
  do {
    if (current >= max_) return false;
  } while (!open_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  return true;
}

void ConnectionGate::leave() {
  if (open_.fetch_sub(1, std::memory_order_acq_rel) == 1 && draining()) {
    // Taking the lock orders this notification after a waiter's predicate check.
    std::lock_guard lock(mutex_);
    changed_.notify_all();
  }
}

bool ConnectionGate::wait_until_empty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, deadline,
                      [&] { return interrupted_ || open_.load(std::memory_order_acquire) == 0; });
  return open_.load(std::memory_order_acquire) == 0;
}

void ConnectionGate::interrupt() {
  std::lock_guard lock(mutex_);
  interrupted_ = true;
  changed_.notify_all();
}

}  // namespace levee::server
