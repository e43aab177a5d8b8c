#include "bench/report.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/json_string.hpp"

namespace levee::bench {
namespace {

double ms(std::uint64_t nanoseconds) { return static_cast<double>(nanoseconds) / 1e6; }

// A JSON number, or null for what is not known (or not finite).
std::string number_or_null(std::optional<double> value, int decimals) {
  if (!value || !std::isfinite(*value)) return "null";
  return fmt::format("{:.{}f}", *value, decimals);
}

std::string latency_line(const Histogram& histogram) {
  return fmt::format("p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  max {:.3f}  mean {:.3f} ms",
                     ms(histogram.percentile(0.50)), ms(histogram.percentile(0.90)),
                     ms(histogram.percentile(0.99)), ms(histogram.percentile(0.999)),
                     ms(histogram.max()), histogram.mean() / 1e6);
}

}  // namespace

std::string format_summary(const RunResult& result, const ReportContext& context) {
  std::string out;
  auto line = [&out](std::string_view name, const std::string& text) {
    out += fmt::format("{:<12} {}\n", name, text);
  };
  line("scenario", fmt::format("{}  against {}{}", context.scenario, context.target,
                               context.label.empty() ? "" : "  (" + context.label + ")"));
  if (result.mode == LoopMode::open) {
    line("schedule",
         fmt::format("open loop, {} requests due over {:.2f} s ({:.1f}/s)", result.scheduled,
                     result.nominal_seconds, result.rate_scheduled().value_or(0.0)));
  } else {
    line("schedule", fmt::format("closed loop, {} connections, {:.2f} s", result.connection_cap,
                                 result.elapsed_seconds));
  }
  line("requests",
       fmt::format("{} sent, {} answered, {} ok", result.sent, result.completed, result.ok));
  std::string errors = fmt::format("{}", result.error_count());
  std::string kinds;
  for (std::size_t i = 0; i < k_error_kind_count; ++i) {
    if (result.errors[i] == 0) continue;
    kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", to_string(static_cast<ErrorKind>(i)),
                         result.errors[i]);
  }
  if (!kinds.empty()) errors += " (" + kinds + ")";
  line("errors", errors);
  if (!result.statuses.empty()) {
    std::string statuses;
    for (const auto& [status, count] : result.statuses) {
      statuses += fmt::format("{}{}: {}", statuses.empty() ? "" : ", ", status, count);
    }
    line("statuses", statuses);
  }
  if (result.error(ErrorKind::mismatch) != 0) {
    line("MISMATCHES", fmt::format("{} answers did not belong to their request, e.g.:",
                                   result.error(ErrorKind::mismatch)));
    for (const std::string& example : result.mismatch_examples)
      out += "             " + example + "\n";
  }
  if (result.mode == LoopMode::open) {
    line("rate", fmt::format("{:.1f}/s answered vs {:.1f}/s scheduled", result.rate_achieved(),
                             result.rate_scheduled().value_or(0.0)));
    line("lateness",
         fmt::format("released late by p99 {:.3f} ms, max {:.3f} ms (levee-bench's "
                     "own delay); written late by p99 {:.3f} ms (adds the wait for "
                     "a free connection)",
                     ms(result.dispatch_lag.percentile(0.99)), ms(result.dispatch_lag.max()),
                     ms(result.send_lag.percentile(0.99))));
  } else {
    line("rate", fmt::format("{:.1f}/s answered", result.rate_achieved()));
  }
  line("latency", latency_line(result.latency) + (result.mode == LoopMode::open
                                                      ? "  (from scheduled send time, ok answers)"
                                                      : "  (ok answers)"));
  if (result.error_latency.count() != 0) {
    line("err latency", latency_line(result.error_latency));
  }
  if (result.mode == LoopMode::open) {
    line("from written", fmt::format("ok p99 {:.3f} ms, errors p50 {:.3f} p99 {:.3f} ms  (service "
                                     "time: without levee-bench's own lateness)",
                                     ms(result.service_latency.percentile(0.99)),
                                     ms(result.error_service_latency.percentile(0.50)),
                                     ms(result.error_service_latency.percentile(0.99))));
  }
  if (!result.overhead_header.empty()) {
    const Histogram& overhead = result.overhead;
    line("overhead",
         fmt::format("p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  max {:.3f} ms  (latency - waited_us - "
                     "upstream_us of {}; {} answers, {} 2xx without it)",
                     ms(overhead.percentile(0.50)), ms(overhead.percentile(0.90)),
                     ms(overhead.percentile(0.99)), ms(overhead.max()), result.overhead_header,
                     overhead.count(), result.overhead_missing));
  }
  if (result.upstream_calls) {
    line("upstream",
         fmt::format("{} calls for {} requests sent: reduction {:.2f} %", *result.upstream_calls,
                     result.sent, result.upstream_reduction().value_or(0.0) * 100));
  }
  line("connections", fmt::format("{} opened, {} at most at once (cap {}); {} requests waited "
                                  "for a free connection",
                                  result.connections_opened, result.connections_peak,
                                  result.connection_cap, result.waited_for_connection));
  if (result.interrupted)
    line("STOPPED", "before the end of the schedule (signal, limits.max_duration or max_requests)");
  return out;
}

std::string format_json_line(const RunResult& result, const ReportContext& context) {
  std::string out = "{\"label\":";
  core::append_json_string(out, context.label);
  out += ",\"scenario\":";
  core::append_json_string(out, context.scenario);
  out += ",\"target\":";
  core::append_json_string(out, context.target);
  out += fmt::format(",\"mode\":\"{}\"", to_string(result.mode));
  out += fmt::format(",\"requests\":{},\"completed\":{},\"ok\":{},\"errors\":{},\"mismatches\":{}",
                     result.sent, result.completed, result.ok, result.error_count(),
                     result.error(ErrorKind::mismatch));
  out += ",\"errors_by_kind\":{";
  for (std::size_t i = 0; i < k_error_kind_count; ++i) {
    out += fmt::format("{}\"{}\":{}", i == 0 ? "" : ",", to_string(static_cast<ErrorKind>(i)),
                       result.errors[i]);
  }
  out += "},\"statuses\":{";
  bool first = true;
  for (const auto& [status, count] : result.statuses) {
    out += fmt::format("{}\"{}\":{}", first ? "" : ",", status, count);
    first = false;
  }
  out += "}";
  out += ",\"upstream_calls\":" +
         (result.upstream_calls ? std::to_string(*result.upstream_calls) : std::string("null"));
  out += ",\"upstream_reduction\":" + number_or_null(result.upstream_reduction(), 4);
  out += ",\"rate_scheduled\":" + number_or_null(result.rate_scheduled(), 1);
  out += ",\"rate_achieved\":" + number_or_null(result.rate_achieved(), 1);
  out += ",\"duration_s\":" + number_or_null(result.elapsed_seconds, 3);
  const Histogram& latency = result.latency;
  out += fmt::format(
      ",\"p50_ms\":{:.3f},\"p90_ms\":{:.3f},\"p99_ms\":{:.3f},\"p999_ms\":{:.3f},\"max_ms\":{:.3f}"
      ",\"mean_ms\":{:.3f}",
      ms(latency.percentile(0.50)), ms(latency.percentile(0.90)), ms(latency.percentile(0.99)),
      ms(latency.percentile(0.999)), ms(latency.max()), latency.mean() / 1e6);
  out += fmt::format(",\"error_p50_ms\":{:.3f},\"error_p99_ms\":{:.3f}",
                     ms(result.error_latency.percentile(0.50)),
                     ms(result.error_latency.percentile(0.99)));
  out += fmt::format(
      ",\"service_p50_ms\":{:.3f},\"service_p99_ms\":{:.3f},\"error_service_p50_ms\":{:.3f}"
      ",\"error_service_p99_ms\":{:.3f}",
      ms(result.service_latency.percentile(0.50)), ms(result.service_latency.percentile(0.99)),
      ms(result.error_service_latency.percentile(0.50)),
      ms(result.error_service_latency.percentile(0.99)));
  out += fmt::format(
      ",\"connections_opened\":{},\"connections_peak\":{},\"connection_cap\":{}"
      ",\"waited_for_connection\":{}",
      result.connections_opened, result.connections_peak, result.connection_cap,
      result.waited_for_connection);
  out += fmt::format(",\"send_lag_p99_ms\":{:.3f},\"send_lag_max_ms\":{:.3f}",
                     ms(result.send_lag.percentile(0.99)), ms(result.send_lag.max()));
  out += fmt::format(",\"dispatch_lag_p99_ms\":{:.3f},\"dispatch_lag_max_ms\":{:.3f}",
                     ms(result.dispatch_lag.percentile(0.99)), ms(result.dispatch_lag.max()));
  if (!result.overhead_header.empty()) {
    const Histogram& overhead = result.overhead;
    out += fmt::format(
        ",\"overhead_ms\":{{\"p50\":{:.3f},\"p90\":{:.3f},\"p99\":{:.3f},\"p999\":{:.3f}"
        ",\"max\":{:.3f},\"count\":{}}},\"overhead_missing\":{}",
        ms(overhead.percentile(0.50)), ms(overhead.percentile(0.90)), ms(overhead.percentile(0.99)),
        ms(overhead.percentile(0.999)), ms(overhead.max()), overhead.count(),
        result.overhead_missing);
  }
  out += fmt::format(",\"interrupted\":{}", result.interrupted ? "true" : "false");
  out += ",\"started_at\":";
  core::append_json_string(out, result.started_at);
  out += '}';
  return out;
}

}  // namespace levee::bench
