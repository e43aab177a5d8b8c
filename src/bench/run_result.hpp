#pragma once
// What one levee-bench run measured: counts, errors by kind, latency histograms and the
// connection figures. Filled by the Runner on its single thread, read by the report.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/histogram.hpp"
#include "bench/scenario.hpp"

namespace levee::bench {

enum class ErrorKind {
  connect,   // the TCP connection could not be opened
  timeout,   // no complete answer within limits.timeout of being due
  io,        // the connection failed mid-request, or the answer was not valid HTTP
  status,    // a non-2xx answer (statuses counts them by code)
  mismatch,  // an answer that does not belong to its request (see verifier.hpp)
  overflow,  // due while limits.max_queued requests already waited for a connection
  cut,       // unanswered when the run was stopped (max_duration or a signal)
};
inline constexpr std::size_t k_error_kind_count = 7;
[[nodiscard]] const char* to_string(ErrorKind kind) noexcept;

struct RunResult {
  LoopMode mode = LoopMode::open;
  std::uint64_t scheduled = 0;  // due requests (open) or started ones (closed)
  std::uint64_t sent = 0;       // written to a connection
  std::uint64_t completed = 0;  // a whole HTTP answer received
  std::uint64_t ok = 0;         // 2xx and verified
  std::array<std::uint64_t, k_error_kind_count> errors{};
  std::map<int, std::uint64_t> statuses;       // non-2xx answers by status code
  std::vector<std::string> mismatch_examples;  // the first few, for the summary

  // Nanoseconds. Open loop: from each request's scheduled send time; closed loop: from the
  // moment it was written.
  Histogram latency;        // answers counted as ok
  Histogram error_latency;  // answers with a bad status or a mismatch
  // The same answers timed from the moment each request was written: the target's (and the
  // loopback's) service time, without the generator's own lateness or the wait for a free
  // connection. Equal to the above in closed loop.
  Histogram service_latency;
  Histogram error_service_latency;
  Histogram send_lag;  // open loop: how late each request was written after it was due
  // Open loop: how late the dispatcher released each request (the generator's own delay;
  // send_lag adds the wait for a free connection, which is the target's doing).
  Histogram dispatch_lag;

  // With the scenario's overhead_header (its name here; empty: off): for each 2xx answer
  // whose header parses, the latency above minus the header's waited_us and upstream_us
  // (levee's own overhead, bench/batch_timing.hpp); 2xx answers without a parseable header
  // are counted in overhead_missing.
  std::string overhead_header;
  Histogram overhead;
  std::uint64_t overhead_missing = 0;

  std::uint64_t connections_opened = 0;
  std::uint64_t connections_peak = 0;
  std::uint64_t connection_cap = 0;
  // Due when no connection was idle and no new one was opened for it (at the cap, or the
  // connects already under way were enough): it waited for the next free connection.
  std::uint64_t waited_for_connection = 0;

  double nominal_seconds = 0;  // the schedule's length (open) or the closed loop's duration
  double elapsed_seconds = 0;  // from the start until the last answer or the stop
  bool interrupted = false;    // the schedule was cut short: a signal, max_duration, max_requests
  std::string started_at;      // UTC, ISO 8601

  std::optional<std::uint64_t> upstream_calls;

  [[nodiscard]] std::uint64_t error_count() const noexcept;
  [[nodiscard]] std::uint64_t error(ErrorKind kind) const noexcept {
    return errors[static_cast<std::size_t>(kind)];
  }
  [[nodiscard]] std::optional<double> upstream_reduction() const noexcept;
  [[nodiscard]] std::optional<double> rate_scheduled() const noexcept;
  [[nodiscard]] double rate_achieved() const noexcept;
};

}  // namespace levee::bench
