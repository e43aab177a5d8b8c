#pragma once
// Waiting for an event that is observable only by asking (a metric, a counter at the mock),
// bounded in time; and reading one series from levee's /metrics.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

#include "support/http_client.hpp"

namespace levee::testing {

// Polls until `condition` holds or `within` has passed; returns whether it held.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds within = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition();
}

// The value of one series (name with labels, exactly as exposed), or ~0 when it is absent.
inline std::uint64_t metric_value(std::uint16_t admin_port, std::string_view series) {
  const auto metrics = http_get(admin_port, "/metrics");
  // At the start of a line: a HELP line names the series too.
  const auto at = metrics.body.find("\n" + std::string(series) + " ");
  if (at == std::string::npos) return ~std::uint64_t{0};
  return std::stoull(metrics.body.substr(at + series.size() + 2));
}

}  // namespace levee::testing
