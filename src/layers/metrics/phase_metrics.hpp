#pragma once
// The route's latency accounting (issue 19): levee_request_phase_seconds{route,mode,phase} and
// levee_added_latency_seconds{route,mode}, fed by the session once each request is answered
// (core/phases.hpp), and their /stats block. Children are registry-owned and never freed, so
// a request may hold the sink across a reload.
//
// Threading: record() from any worker (the histograms shard per worker); append_stats() on
// the admin thread.

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "core/phases.hpp"

namespace levee::admin {
class Histogram;
}  // namespace levee::admin

namespace levee::layers {

// The phase label's values, in the order of PhaseMetrics::phases.
inline constexpr std::array<std::string_view, 5> k_phase_names = {"admission", "parked", "upstream",
                                                                  "proxy", "total"};

// 100 µs steps up to 10 ms (where levee's own overhead lives), then coarser to 10 s.
[[nodiscard]] std::span<const double> phase_buckets() noexcept;
// The index of the first of phase_buckets() >= d (its size for +Inf), without a search.
[[nodiscard]] std::size_t phase_bucket(core::Clock::duration d) noexcept;
// Records `d` in a histogram made with phase_buckets(); null: nothing to record.
void observe_phase(admin::Histogram* histogram, core::Clock::duration d) noexcept;

class PhaseMetrics final : public core::PhaseSink {
 public:
  // Null for a phase the route's mode never has (a pass route never parks, a batch route's
  // batcher admits): nothing to observe per request, and no series always at 0.
  std::array<admin::Histogram*, k_phase_names.size()> phases{};
  admin::Histogram* added = nullptr;

  PhaseMetrics() = default;

  void record(const core::PhaseBreakdown& breakdown) const noexcept override;
  // `"phases_ms":{"admission":{"p50":…,"p99":…},…,"added":{…}}`, after a comma.
  void append_stats(std::string& out) const;
};

}  // namespace levee::layers
