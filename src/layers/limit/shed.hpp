#pragma once
// Why a request was refused for want of capacity, counted per route
// (levee_shed_total{route,reason}), and the 503 it gets. Shedding is meant to be cheap: the
// answer is built from a short text and the request goes no further.

#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "core/response.hpp"

namespace levee::admin {
class Counter;
}  // namespace levee::admin

namespace levee::layers::limit {

enum class ShedReason { max_pending, upstream_inflight, breaker_open };
inline constexpr std::size_t k_shed_reasons = 3;

[[nodiscard]] std::string_view to_string(ShedReason reason) noexcept;

// Children of levee_shed_total for one route; null entries are not counted (unit tests).
struct ShedCounters {
  std::array<admin::Counter*, k_shed_reasons> by_reason{};
  void count(ShedReason reason) const noexcept;
};

inline constexpr std::chrono::seconds k_shed_retry_after{1};

// 503 with Retry-After and `message` as the body.
[[nodiscard]] core::Response shed_response(std::string message,
                                           std::chrono::seconds retry_after = k_shed_retry_after);

}  // namespace levee::layers::limit
