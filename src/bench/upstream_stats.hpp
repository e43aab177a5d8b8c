#pragma once
// Reads levee-upstream's /__stats (its "total": every request it answered, /__stats and
// /__reset excepted) so levee-bench can count what reached the upstream: one blocking GET
// with a timeout, before and after a run, never during it.

#include <chrono>
#include <cstdint>
#include <string>

#include "bench/target.hpp"

namespace levee::bench {

// The upstream's request total; throws std::runtime_error naming the URL and the problem.
[[nodiscard]] std::uint64_t fetch_upstream_total(const Target& stats_url,
                                                 std::chrono::milliseconds timeout);

}  // namespace levee::bench
