#pragma once
// The clock levee measures with. Monotonic; never the wall clock on the data path.

#include <chrono>

namespace levee::core {

using Clock = std::chrono::steady_clock;

[[nodiscard]] inline double seconds_since(Clock::time_point start) noexcept {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace levee::core
