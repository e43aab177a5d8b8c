#include "layers/collapse/fleet/fleet_rules.hpp"

#include <spdlog/spdlog.h>

#include "admin/metrics.hpp"

namespace levee::layers::collapse::fleet {

namespace {

void bump(std::atomic<std::uint64_t>& counter, admin::Counter* metric) {
  counter.fetch_add(1, std::memory_order_relaxed);
  if (metric != nullptr) metric->inc();
}

}  // namespace

void log_degraded(FleetCounters& counters, const FleetRules& rules, std::string_view why) {
  if (const auto suppressed = counters.degraded_log.admit()) {
    spdlog::warn(
        "fleet: route {}: {}; collapsing within this instance only ({} more since the last "
        "line)",
        rules.route, why, *suppressed);
  }
}

std::string_view to_string(LeaseOutcome outcome) noexcept {
  switch (outcome) {
    case LeaseOutcome::won:
      return "won";
    case LeaseOutcome::waited:
      return "waited";
    case LeaseOutcome::taken_over:
      return "taken_over";
    case LeaseOutcome::expired:
      return "expired";
  }
  return "unknown";
}

std::string_view to_string(Fallback fallback) noexcept {
  switch (fallback) {
    case Fallback::redis_error:
      return "redis_error";
    case Fallback::wait_expired:
      return "wait_expired";
    case Fallback::unshared:
      return "unshared";
    case Fallback::bad_answer:
      return "bad_answer";
  }
  return "unknown";
}

void FleetCounters::count(LeaseOutcome outcome) {
  const auto at = static_cast<std::size_t>(outcome);
  bump(leases[at], metrics.leases[at]);
}

void FleetCounters::count_hit(bool stale) {
  if (stale) {
    bump(stale_hits, metrics.stale_hits);
  } else {
    bump(hits, metrics.hits);
  }
}

void FleetCounters::count(Fallback fallback) {
  const auto at = static_cast<std::size_t>(fallback);
  bump(fallbacks[at], metrics.fallbacks[at]);
}

void FleetCounters::count(Unshared reason) {
  const auto at = static_cast<std::size_t>(reason);
  bump(unshared[at], metrics.unshared[at]);
}

void FleetCounters::count_command() { bump(commands, metrics.commands); }

}  // namespace levee::layers::collapse::fleet
