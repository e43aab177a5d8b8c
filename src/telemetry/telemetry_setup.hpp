#pragma once
// Builds flush telemetry from [telemetry] (DESIGN.md "Observability"): the configured sink and
// the FlushTelemetry that owns it and its drain thread. Start-up code only.

#include <memory>

#include "config/config.hpp"
#include "telemetry/telemetry.hpp"

namespace levee::telemetry {

// `none` gives a FlushTelemetry without a sink, which records nothing. Throws
// std::runtime_error with a message for the operator, naming the setting, when the sink cannot
// be created (a jsonl file that cannot be opened for appending, a Kafka property librdkafka
// refuses).
[[nodiscard]] std::unique_ptr<FlushTelemetry> make_flush_telemetry(
    const config::TelemetryConfig& config);

}  // namespace levee::telemetry
