#pragma once
// Where a request's time went (issue 19; docs/life_of_a_request.md "Latency accounting").
//
// The session owns one Phases per request, in the frame that serves it, and hands the layers
// a pointer to it with the request (core::Request::phases). Each layer writes the part it
// knows, with at most one clock read per event:
//   - received: the session, once the request's head (and what came with it) is parsed;
//   - admitted: the admission layer, when the route's permit is granted;
//   - parked: the collapse or batch layer, the policy's chosen wait (a window, a batch filling);
//   - upstream: from the call being handed to the upstream client to its last byte read
//     (collapse and batch members: their share of the slot's or batch's call);
//   - answered: the session, once the last byte of the answer is handed to the socket.
// The session then gives the breakdown to the route's sink (the metrics layer's histograms).
//
// Threading: written and read on the request's own worker only, while the session's frame
// serving it lives. Work that outlives the request (a slot's call, a batch call, a cache
// refresh) never carries the pointer; it reports its times in its results instead.

#include <algorithm>

#include "core/clock.hpp"

namespace levee::core {

// One answered request's time, split. proxy is levee's own work outside admission, the wait
// and the upstream; added is what levee adds to a bare upstream's latency.
struct PhaseBreakdown {
  Clock::duration admission{};
  Clock::duration parked{};
  Clock::duration upstream{};
  Clock::duration proxy{};
  Clock::duration total{};

  [[nodiscard]] Clock::duration added() const noexcept { return admission + proxy; }
};

// Records answered requests' breakdowns (per route and mode). Any worker thread.
class PhaseSink {
 public:
  PhaseSink() = default;
  PhaseSink(const PhaseSink&) = delete;
  PhaseSink& operator=(const PhaseSink&) = delete;
  virtual void record(const PhaseBreakdown& phases) const noexcept = 0;

 protected:
  ~PhaseSink() = default;
};

struct Phases {
  Clock::time_point received{};
  Clock::time_point admitted{};  // unset: the route admits no one (a batch route's batcher does)
  Clock::duration parked{};
  Clock::duration upstream{};
  // Set while a streamed upstream body is still being read; the session ends the span when
  // the stream ends.
  Clock::time_point upstream_open_since{};
  const PhaseSink* sink = nullptr;  // the route's; null: the request is not recorded

  // The breakdown once the answer's last byte was handed to the socket at `answered`. A
  // span that would make another negative (clocks read on different paths) is clamped, so
  // that the parts always add up to the total.
  [[nodiscard]] PhaseBreakdown breakdown(Clock::time_point answered) const noexcept {
    PhaseBreakdown out;
    out.total = std::max(answered - received, Clock::duration::zero());
    if (admitted != Clock::time_point{}) {
      out.admission = std::clamp(admitted - received, Clock::duration::zero(), out.total);
    }
    out.parked = std::clamp(parked, Clock::duration::zero(), out.total - out.admission);
    out.upstream =
        std::clamp(upstream, Clock::duration::zero(), out.total - out.admission - out.parked);
    out.proxy = out.total - out.admission - out.parked - out.upstream;
    return out;
  }
};

}  // namespace levee::core
