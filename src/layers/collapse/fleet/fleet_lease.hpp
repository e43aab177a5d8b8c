#pragma once
// How a collapse slot gets its answer when the route collapses across the fleet (docs/fleet.md):
// instead of calling upstream at once, the slot's call asks Redis for the key's lease.
//   - won: this instance calls upstream, renewing the lease every lease_ttl / 2 while the call
//     runs (keep_lease), and completes the lease afterwards (complete_lease);
//   - held by another instance: it waits for the holder's completion on the channel, polling
//     every fleet_wait (a lost message costs at most that), takes the lease over when the holder
//     is gone (the lease expired or was given up), and gets the answer from Redis;
//   - a stale answer while another refreshes (fleet_stale): served at once (memcache's hot miss);
//   - Redis failing, a wait past wait_limit (or past a lease left to expire without a taker),
//     an answer the holder keeps to itself:
//     the slot calls upstream on its own ("local"), counted, and never fails because of Redis.
// The slot's own members still share its one call, whichever way it went.
//
// Threading: the slot call's coroutine, on the worker whose FleetClient it is given.

#include <array>
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/log_throttle.hpp"
#include "core/response.hpp"
#include "layers/collapse/fleet/fleet_answer.hpp"
#include "layers/collapse/fleet/fleet_client.hpp"

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

struct Obtained {
  enum class Kind : std::uint8_t {
    lead,       // this instance holds the lease: call upstream, then complete_lease()
    answer,     // another instance's answer (or a stale one)
    local,      // call upstream without the fleet
    cancelled,  // the slot's call was cancelled while it waited
  };
  Kind kind = Kind::local;
  std::uint64_t token = 0;  // lead
  core::Response answer;    // answer
};

[[nodiscard]] boost::asio::awaitable<Obtained> obtain(std::shared_ptr<FleetClient> client,
                                                      std::shared_ptr<const FleetRules> rules,
                                                      std::shared_ptr<FleetCounters> counters,
                                                      std::string key);

// While the returned handle lives, the holder renews its lease every lease_ttl / 2, so that a
// call longer than lease_ttl keeps it and only a holder that died loses it. Destroy the handle
// on the client's thread.
[[nodiscard]] std::shared_ptr<void> keep_lease(std::shared_ptr<FleetClient> client,
                                               std::shared_ptr<const FleetRules> rules,
                                               std::shared_ptr<FleetCounters> counters,
                                               std::string key, std::uint64_t token);

// The holder's end (detached): shares `answer` if it may be shared, else tells the others to
// call on their own; nullopt answer: the call ended without one, the lease is given up.
void complete_lease(const std::shared_ptr<FleetClient>& client,
                    const std::shared_ptr<const FleetRules>& rules,
                    const std::shared_ptr<FleetCounters>& counters, std::string key,
                    std::uint64_t token, const std::optional<core::Response>& answer);

}  // namespace levee::layers::collapse::fleet
