#include "bench/run_result.hpp"

#include <algorithm>
#include <numeric>

namespace levee::bench {

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::connect:
      return "connect";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::io:
      return "io";
    case ErrorKind::status:
      return "status";
    case ErrorKind::mismatch:
      return "mismatch";
    case ErrorKind::overflow:
      return "overflow";
    case ErrorKind::cut:
      return "cut";
  }
  return "?";
}

std::uint64_t RunResult::error_count() const noexcept {
  return std::accumulate(errors.begin(), errors.end(), std::uint64_t{0});
}

std::optional<double> RunResult::upstream_reduction() const noexcept {
  if (!upstream_calls || sent == 0) return std::nullopt;
  return 1.0 - static_cast<double>(*upstream_calls) / static_cast<double>(sent);
}

std::optional<double> RunResult::rate_scheduled() const noexcept {
  if (mode == LoopMode::closed || nominal_seconds <= 0) return std::nullopt;
  return static_cast<double>(scheduled) / nominal_seconds;
}

double RunResult::rate_achieved() const noexcept {
  // Over at least the nominal length: a target that keeps up answers the last request just
  // after it is due, and its rate then equals the scheduled one.
  const double seconds = std::max(nominal_seconds, elapsed_seconds);
  return seconds <= 0 ? 0.0 : static_cast<double>(completed) / seconds;
}

}  // namespace levee::bench
