#pragma once
// The value of levee's batch debug header, `X-Levee-Batch: items=N; waited_us=W; upstream_us=U`
// (README "[routes.batch]" debug_header). The batch route writes it, and so does
// levee-upstream's --release-every control; levee-bench reads it (src/bench/batch_timing.hpp).

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace levee::layers::batch {

inline constexpr std::string_view k_debug_header = "X-Levee-Batch";

// W: how long the item waited for its batch to leave; U: how long the batch call took.
[[nodiscard]] inline std::string debug_header_value(std::size_t items,
                                                    std::chrono::nanoseconds waited,
                                                    std::chrono::nanoseconds upstream) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  return "items=" + std::to_string(items) +
         "; waited_us=" + std::to_string(duration_cast<microseconds>(waited).count()) +
         "; upstream_us=" + std::to_string(duration_cast<microseconds>(upstream).count());
}

}  // namespace levee::layers::batch
