#pragma once
// The value of levee's batch debug header, `X-Levee-Batch: items=N; waited_us=W; upstream_us=U`
// (README "[routes.batch]" debug_header). The batch route writes it, and so does
// levee-upstream's --release-every control; levee-bench reads it (src/bench/batch_timing.hpp).

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace levee::layers::batch {

inline constexpr std::string_view k_debug_header = "X-Levee-Batch";

// W: how long the item waited for its batch to leave; U: how long the batch call took. Written
// once per answered item: one allocation, the string itself.
[[nodiscard]] inline std::string debug_header_value(std::size_t items,
                                                    std::chrono::nanoseconds waited,
                                                    std::chrono::nanoseconds upstream) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  std::array<char, 96> text{};  // the labels (32) and three numbers of at most 20 digits
  char* end = text.data();
  const auto put = [&end](std::string_view part) {
    end = std::copy(part.begin(), part.end(), end);
  };
  const auto number = [&end, &text](auto value) {
    end = std::to_chars(end, text.data() + text.size(), value).ptr;
  };
  put("items=");
  number(items);
  put("; waited_us=");
  number(duration_cast<microseconds>(waited).count());
  put("; upstream_us=");
  number(duration_cast<microseconds>(upstream).count());
  return std::string(text.data(), end);
}

}  // namespace levee::layers::batch
