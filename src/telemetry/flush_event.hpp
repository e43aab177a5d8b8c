#pragma once
// One record per flush of a waiting group (DESIGN.md "Observability"): what went upstream, why,
// how long it waited, what the upstream did, and what the flush policy saw and chose. The
// request path fills one in and hands it to FlushTelemetry::record(); sinks serialise it with
// to_json(), which is also the line format of the JSONL sink that rl/ trains on.
//
// A plain value: copy and move freely; no thread affinity.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "levee/flush_policy.hpp"

namespace levee::telemetry {

// FlushEvent::action: what the policy answered at its last decision before the flush.
inline constexpr int k_action_none = -1;  // no policy decision (envelope, immediate, shutdown)
inline constexpr int k_action_wait = 0;
inline constexpr int k_action_flush = 1;

// The observation's width (policy/observation.hpp, version 2), and the most member arrivals
// one event lists (a bigger group lists its first ones and says it was cut). The telemetry
// queue holds up to queue_capacity events (8,192 by default): at 8 bytes an arrival this
// bounds what a burst of large batches can make it hold to about 64 MiB, not 256.
inline constexpr std::size_t k_event_observation_size = 9;
inline constexpr std::size_t k_max_event_arrivals = 1024;

struct FlushEvent {
  std::string route;
  FlushReason reason = FlushReason::immediate;
  std::uint32_t size = 0;  // members of the group that went upstream
  std::chrono::nanoseconds age{0};
  std::chrono::nanoseconds upstream_latency{0};
  int status = 0;  // upstream HTTP status; 0 when the call failed without one
  // The observation at the flush (docs/policies.md "Observation"), of this version; zeros on
  // a route that measures nothing.
  std::array<float, k_event_observation_size> observation{};
  std::uint32_t observation_version = 0;
  int action = k_action_none;
  std::string policy;
  std::chrono::system_clock::time_point timestamp{};
  // When the group opened, and each member's arrival after that (ns, ascending, the first 0):
  // what rl/ replays. Empty when the owner recorded none.
  std::chrono::system_clock::time_point opened{};
  std::vector<std::int64_t> arrivals;
  bool arrivals_truncated = false;  // more members than k_max_event_arrivals
};

// One JSON object on one line, without the trailing newline:
//   {"ts_unix_ns":…,"route":"…","reason":"timeout","size":8,"age_ns":…,
//    "upstream_latency_ns":…,"status":200,"observation":[8 floats],"observation_version":2,
//    "action":1,"policy":"…","opened_unix_ns":…,"arrivals_ns":[0,…]}
// opened_unix_ns and arrivals_ns only when arrivals were recorded, and "arrivals_truncated":
// true after them when the list was cut.
// Floats are written in their shortest round-trip form; a non-finite one is written as null.
[[nodiscard]] std::string to_json(const FlushEvent& event);

}  // namespace levee::telemetry
