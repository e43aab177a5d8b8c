#include "telemetry/flush_event.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <iterator>

#include "core/json_string.hpp"

namespace levee::telemetry {

std::string to_json(const FlushEvent& event) {
  std::string out;
  out.reserve(320 + event.route.size() + event.policy.size() + 12 * event.arrivals.size());
  auto it = std::back_inserter(out);
  const auto ts =
      std::chrono::duration_cast<std::chrono::nanoseconds>(event.timestamp.time_since_epoch());
  fmt::format_to(it, R"({{"ts_unix_ns":{},"route":)", ts.count());
  core::append_json_string(out, event.route);
  fmt::format_to(it, R"(,"reason":"{}","size":{},"age_ns":{},"upstream_latency_ns":{},)",
                 to_string(event.reason), event.size, event.age.count(),
                 event.upstream_latency.count());
  fmt::format_to(it, R"("status":{},"observation":[)", event.status);
  for (std::size_t i = 0; i < event.observation.size(); ++i) {
    if (i != 0) out += ',';
    const float value = event.observation[i];
    if (std::isfinite(value)) {
      fmt::format_to(it, "{}", value);
    } else {
      out += "null";
    }
  }
  fmt::format_to(it, R"(],"observation_version":{},"action":{},"policy":)",
                 event.observation_version, event.action);
  core::append_json_string(out, event.policy);
  if (!event.arrivals.empty()) {
    const auto opened =
        std::chrono::duration_cast<std::chrono::nanoseconds>(event.opened.time_since_epoch());
    fmt::format_to(it, R"(,"opened_unix_ns":{},"arrivals_ns":[{}])", opened.count(),
                   fmt::join(event.arrivals, ","));
    if (event.arrivals_truncated) out += R"(,"arrivals_truncated":true)";
  }
  out += '}';
  return out;
}

}  // namespace levee::telemetry
