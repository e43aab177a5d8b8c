#pragma once
// A fleet route's rules (from [routes.collapse], fixed per config generation) and its counters
// (shared by every worker of the route, read by /stats and mapped to Prometheus).

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/log_throttle.hpp"
#include "layers/collapse/fleet/fleet_answer.hpp"

namespace levee::admin {
class Counter;
}  // namespace levee::admin

namespace levee::layers::collapse::fleet {

struct FleetRules {
  std::string route;
  std::string upstream;
  std::chrono::milliseconds lease_ttl{5000};
  std::chrono::milliseconds fleet_wait{50};
  std::chrono::milliseconds stale{0};  // 0: never serve a stale answer
  std::uint64_t max_bytes = std::uint64_t{1} << 20;
  // The longest a waiter follows other instances' leases before it calls on its own: the
  // upstream's request_timeout (a live holder's call ends by then) + 2 lease_ttl + fleet_wait.
  std::chrono::milliseconds wait_limit{10050};

  // How long an answer stays in Redis: long enough for every waiter to read it (a waiter polls
  // at least every fleet_wait), and as long as it may be served stale.
  [[nodiscard]] std::chrono::milliseconds answer_ttl() const noexcept {
    return std::max(stale, fleet_wait + std::chrono::seconds(1));
  }
};

enum class LeaseOutcome : std::uint8_t { won, waited, taken_over, expired };
inline constexpr std::size_t k_lease_outcomes = 4;
[[nodiscard]] std::string_view to_string(LeaseOutcome outcome) noexcept;

enum class Fallback : std::uint8_t { redis_error, wait_expired, unshared, bad_answer };
inline constexpr std::size_t k_fallbacks = 4;
[[nodiscard]] std::string_view to_string(Fallback fallback) noexcept;

// The route's Prometheus children (proxy/proxy_metrics.cpp); any may be null (unit tests).
struct FleetMetrics {
  std::array<admin::Counter*, k_lease_outcomes> leases{};
  admin::Counter* hits = nullptr;
  admin::Counter* stale_hits = nullptr;
  std::array<admin::Counter*, k_fallbacks> fallbacks{};
  std::array<admin::Counter*, k_unshared_reasons> unshared{};
  admin::Counter* commands = nullptr;  // Redis round trips of the route's fleet
};

// Shared by every worker of the route; read by /stats.
struct FleetCounters {
  std::array<std::atomic<std::uint64_t>, k_lease_outcomes> leases{};
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> stale_hits{0};
  std::array<std::atomic<std::uint64_t>, k_fallbacks> fallbacks{};
  std::array<std::atomic<std::uint64_t>, k_unshared_reasons> unshared{};
  std::atomic<std::uint64_t> commands{0};
  FleetMetrics metrics;
  core::LogThrottle degraded_log{1};

  void count(LeaseOutcome outcome);
  void count_hit(bool stale);
  void count(Fallback fallback);
  void count(Unshared reason);
  void count_command();
};

// Logs, at most once a second per route, that the route collapses within this instance only.
void log_degraded(FleetCounters& counters, const FleetRules& rules, std::string_view why);

}  // namespace levee::layers::collapse::fleet
