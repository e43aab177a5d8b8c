#pragma once
// The clock levee measures with. Monotonic; never the wall clock on the data path.

#include <chrono>
#include <functional>

namespace levee::core {

using Clock = std::chrono::steady_clock;
// Where a layer reads the time: Clock::now in production, a manual clock in unit tests.
using NowFunction = std::function<Clock::time_point()>;

[[nodiscard]] inline double seconds_between(Clock::time_point start,
                                            Clock::time_point end) noexcept {
  return std::chrono::duration<double>(end - start).count();
}

[[nodiscard]] inline double seconds_since(Clock::time_point start) noexcept {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace levee::core
