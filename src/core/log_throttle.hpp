#pragma once
// Bounds how many log lines one kind of event may write per second, so that a flood of bad
// requests or a dead upstream cannot fill the disk through the log (the metric still counts
// every event). Thread-safe and lock-free; the bound is approximate under races.

#include <atomic>
#include <cstdint>
#include <optional>

namespace levee::core {

class LogThrottle {
 public:
  explicit LogThrottle(std::uint32_t lines_per_second) : limit_(lines_per_second) {}

  // If this event may be logged, how many were suppressed since the last one that was;
  // std::nullopt if it must not be logged.
  [[nodiscard]] std::optional<std::uint64_t> admit() noexcept;

 private:
  const std::uint32_t limit_;
  std::atomic<std::int64_t> window_{-1};  // steady-clock second of the current window
  std::atomic<std::uint32_t> used_{0};
  std::atomic<std::uint64_t> suppressed_{0};
};

}  // namespace levee::core
