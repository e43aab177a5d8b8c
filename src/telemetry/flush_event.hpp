#pragma once
// One record per flush of a waiting group (DESIGN.md "Observability"): what went upstream, why,
// how long it waited, what the upstream did, and what the flush policy saw and chose. The
// request path fills one in and hands it to FlushTelemetry::record(); sinks serialise it with
// to_json(), which is also the line format of the JSONL sink that rl/ trains on.
//
// A plain value: copy and move freely; no thread affinity.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

#include "levee/flush_policy.hpp"

namespace levee::telemetry {

// FlushEvent::action: what the policy answered at its last decision before the flush.
inline constexpr int k_action_none = -1;  // no policy decision (envelope, immediate, shutdown)
inline constexpr int k_action_wait = 0;
inline constexpr int k_action_flush = 1;

struct FlushEvent {
  std::string route;
  FlushReason reason = FlushReason::immediate;
  std::uint32_t size = 0;  // members of the group that went upstream
  std::chrono::nanoseconds age{0};
  std::chrono::nanoseconds upstream_latency{0};
  int status = 0;  // upstream HTTP status; 0 when the call failed without one
  // The policy's observation at its last decision (DESIGN.md "Flush policies"): size/cap,
  // age/max_wait, log1p(p99 ms)/log1p(500), tanh(rate/100); zeros when no policy was asked.
  std::array<float, 4> observation{};
  int action = k_action_none;
  std::string policy;
  std::chrono::system_clock::time_point timestamp{};
};

// One JSON object on one line, without the trailing newline:
//   {"ts_unix_ns":…,"route":"…","reason":"timeout","size":8,"age_ns":…,
//    "upstream_latency_ns":…,"status":200,"observation":[…,…,…,…],"action":1,"policy":"…"}
// Floats are written in their shortest round-trip form; a non-finite one is written as null.
[[nodiscard]] std::string to_json(const FlushEvent& event);

}  // namespace levee::telemetry
