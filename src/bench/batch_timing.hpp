#pragma once
// What levee's batch debug header says about one answered item (`X-Levee-Batch: items=N;
// waited_us=W; upstream_us=U`, README "[routes.batch]"): W is the time from the item being
// parked to its batch call starting, U the batch call's duration. levee-bench subtracts both
// from the latency it measured to get levee's own overhead (scenario key overhead_header).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace levee::bench {

struct BatchTiming {
  std::uint64_t items = 0;  // 0 when the header does not say
  std::chrono::microseconds waited{0};
  std::chrono::microseconds upstream{0};
};

// `key=value` pairs separated by `;` (spaces around either are ignored). waited_us and
// upstream_us are required, unsigned decimal integers, each at most once; items is optional;
// other keys are ignored, so that levee may add some. nullopt when the value does not parse.
[[nodiscard]] std::optional<BatchTiming> parse_batch_timing(std::string_view value) noexcept;

// The latency left once the item's wait and its batch call are taken out: levee's overhead
// (clamped at zero; on one machine's monotonic clock levee's two intervals lie within the
// client's, and levee rounds them down to whole microseconds).
[[nodiscard]] std::chrono::nanoseconds batch_overhead(std::chrono::nanoseconds latency,
                                                      const BatchTiming& timing) noexcept;

}  // namespace levee::bench
