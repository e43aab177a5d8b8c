#pragma once
// What the `learned` policy sees of a waiting group (DESIGN.md "Flush policies";
// docs/policies.md "Observation"), versioned: a model declares in its ONNX metadata the
// observation version it was trained on, and levee refuses a model whose version or input
// width is not the one it computes, rather than feed it features it never saw.
//
// Version 2, nine features, each clamped to [0, 1] and never NaN (W = max_wait):
//   0 size / size_cap
//   1 age / W
//   2 log1p(upstream p99 in ms) / log1p(500)
//   3 tanh(arrival rate over tau = 1 s, per second / 100)
//   4 time since the group's newest member arrived, on the log time scale below
//   5 the mean gap between arrivals over the short horizon (tau = 10 ms), same scale
//   6 the members that joined within the last W/32, over size (how fast it still grows)
//   7 e / (e + size), e = the short-horizon rate x (W - age): the share of the group
//     still to come if arrivals go on as they have
//   8 the group's own mean gap between arrivals (arrival_span / (size - 1)), log time
//     scale; 1 for a group of one. Next to feature 4 it tells a burst that ended (a gap of
//     many of its own mean gaps) from a steady stream in a lull.
// The log time scale: log1p(1000 t / W) / log1p(1000), so 0 is 0, W/1000 is 0.1, W/100 is
// 0.35, W/10 is 0.67 and W (or more) is 1: a gap of microseconds and one of tens of ms are
// both told apart. Features 0-3 are version 1's, unchanged.
// A zero size_cap or W counts as a bound already reached (1; 0 for nothing against it). No
// upstream call in the p99's window: feature 2 is 0. No arrival measured: feature 5 is 1.
//
// Pure functions; no state, no allocation.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "levee/flush_policy.hpp"
#include "policy/mlp_interpreter.hpp"

namespace levee::policy {

inline constexpr std::uint32_t k_observation_version = 2;
inline constexpr std::size_t k_observation_size = 9;
using Observation = std::array<float, k_observation_size>;

// The normalisation scales (DESIGN.md).
inline constexpr double k_observation_latency_ms = 500.0;
inline constexpr double k_observation_rate_per_s = 100.0;
inline constexpr double k_observation_time_resolution = 1000.0;  // W / this maps to 0.1

// The signals at one instant, read together.
struct SignalSnapshot {
  double arrival_rate = 0.0;                             // requests per second, tau = 1 s
  double short_arrival_rate = 0.0;                       // requests per second, tau = 10 ms
  std::optional<std::chrono::nanoseconds> upstream_p99;  // nullopt: no call in the window
};

[[nodiscard]] Observation make_observation(const GroupState& group,
                                           const SignalSnapshot& signals) noexcept;

// Why `model` cannot take this levee's observation (its declared version or its input width
// differ), or nullopt when it can.
[[nodiscard]] std::optional<std::string> observation_mismatch(const CompiledModel& model);

}  // namespace levee::policy
