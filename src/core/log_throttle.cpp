#include "core/log_throttle.hpp"

#include <chrono>

namespace levee::core {

std::optional<std::uint64_t> LogThrottle::admit() noexcept {
  const auto second = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  auto window = window_.load(std::memory_order_relaxed);
  if (window != second && window_.compare_exchange_strong(window, second)) {
    used_.store(0, std::memory_order_relaxed);
  }
  if (used_.fetch_add(1, std::memory_order_relaxed) < limit_) {
    return suppressed_.exchange(0, std::memory_order_relaxed);
  }
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return std::nullopt;
}

}  // namespace levee::core
