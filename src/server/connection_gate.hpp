#pragma once
// Process-wide accounting of client connections and requests, shared by every worker of
// one listener: enforces max_connections, and lets shutdown wait for the drain to finish.
// All members are thread-safe; the counters are touched once per connection and per request,
// not per byte.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace levee::server {

class ConnectionGate {
 public:
  explicit ConnectionGate(std::uint32_t max_connections) : max_(max_connections) {}

  // Counts a new connection unless max_connections are open already.
  [[nodiscard]] bool try_enter() noexcept;
  void leave();

  void request_started() noexcept { active_requests_.fetch_add(1, std::memory_order_relaxed); }
  void request_finished() noexcept { active_requests_.fetch_sub(1, std::memory_order_relaxed); }

  [[nodiscard]] std::uint32_t open_connections() const noexcept {
    return open_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::int64_t active_requests() const noexcept {
    return active_requests_.load(std::memory_order_relaxed);
  }

  void begin_drain() noexcept { draining_.store(true, std::memory_order_release); }
  [[nodiscard]] bool draining() const noexcept { return draining_.load(std::memory_order_acquire); }

  // Blocks until no connection is open, `deadline` passes or interrupt() is called.
  // Returns true when every connection closed.
  bool wait_until_empty(std::chrono::steady_clock::time_point deadline);
  void interrupt();

 private:
  const std::uint32_t max_;
  std::atomic<std::uint32_t> open_{0};
  std::atomic<std::int64_t> active_requests_{0};
  std::atomic<bool> draining_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  bool interrupted_ = false;
};

}  // namespace levee::server
