#pragma once
// Where flush events go (DESIGN.md "Observability"): a JSONL file or Kafka; "none" has no sink
// at all (FlushTelemetry without one).
//
// Threading: a sink is driven by one thread, FlushTelemetry's drain thread, and never by the
// request path; implementations need no locking of their own for write()/flush(). Counters a
// sink exposes for /metrics may be read from any thread.
// Errors: write() and flush() never throw and never block for long (a file write, a local
// enqueue); a failure is counted and logged with a throttle by the sink, and write() says
// whether the event was taken.

#include <string_view>

#include "telemetry/flush_event.hpp"

namespace levee::telemetry {

class Sink {
 public:
  Sink() = default;
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  virtual ~Sink() = default;

  // True if the event was written (or handed to the client library that delivers it); false if
  // it is lost.
  [[nodiscard]] virtual bool write(const FlushEvent& event) noexcept = 0;
  // Pushes buffered output towards its destination; called when the queue runs dry.
  virtual void flush() noexcept = 0;
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
};

}  // namespace levee::telemetry
