#pragma once
// The [telemetry] table (DESIGN.md "Observability"): where flush events go and how the queue
// in front of the sink is sized. Internal to src/config; start-up code only.

#include "config/config.hpp"
#include "config/table_reader.hpp"

namespace levee::config::detail {

// [telemetry]; absent keys keep their defaults. Keys of another sink than the chosen one are
// type-checked but otherwise ignored, so LEVEE_TELEMETRY__SINK=none can switch a configured
// sink off without editing the file.
void read_telemetry(const toml::table& table, TelemetryConfig& telemetry, Diagnostics& diagnostics);

[[nodiscard]] Schema telemetry_schema() noexcept;

}  // namespace levee::config::detail
