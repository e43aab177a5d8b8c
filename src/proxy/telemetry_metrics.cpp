#include "proxy/telemetry_metrics.hpp"

#include <string>

#include "telemetry/telemetry.hpp"

namespace levee::proxy {

namespace {
constexpr std::string_view k_events_help =
    "Flush events by what became of them: recorded (offered by a flush), written (taken by the "
    "sink), dropped (queue full, or left at shutdown), sink_error (the sink failed to take "
    "it). Once drained, recorded = written + dropped + sink_error.";
}  // namespace

void register_telemetry_metrics(admin::Registry& registry,
                                const telemetry::FlushTelemetry& telemetry, std::string_view sink) {
  const auto* t = &telemetry;
  registry.counter_callback("levee_telemetry_events_total", k_events_help, {{"result", "recorded"}},
                            [t] { return static_cast<double>(t->recorded()); });
  registry.counter_callback("levee_telemetry_events_total", k_events_help, {{"result", "written"}},
                            [t] { return static_cast<double>(t->written()); });
  registry.counter_callback("levee_telemetry_events_total", k_events_help, {{"result", "dropped"}},
                            [t] { return static_cast<double>(t->dropped()); });
  registry.counter_callback("levee_telemetry_events_total", k_events_help,
                            {{"result", "sink_error"}},
                            [t] { return static_cast<double>(t->sink_errors()); });
  registry.gauge_callback("levee_telemetry_sink_info",
                          "The configured flush telemetry sink (none, jsonl, kafka); always 1.",
                          {{"sink", std::string(sink)}}, [] { return 1.0; });
}

}  // namespace levee::proxy
