#include "config/telemetry_section.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

namespace levee::config::detail {

namespace {

constexpr std::array telemetry_fields{
    Field{"sink", Kind::string},
    Field{"path", Kind::string},
    Field{"max_file_bytes", Kind::size},
    Field{"keep_files", Kind::integer},
    Field{"brokers", Kind::string},
    Field{"topic", Kind::string},
    Field{"queue_capacity", Kind::integer},
    Field{"poll_interval", Kind::duration},
    Field{"drain_timeout", Kind::duration},
};

// The queue holds whole events: a million of them is already hundreds of MiB.
constexpr std::int64_t k_min_queue_capacity = 16;
constexpr std::int64_t k_max_queue_capacity = 1'048'576;
constexpr std::int64_t k_max_keep_files = 1000;
// Longer polls let the queue fill up between drains; longer drains hold up shutdown.
constexpr auto k_max_poll_interval = std::chrono::seconds(10);
constexpr auto k_max_drain_timeout = std::chrono::minutes(1);

void read_sink(TableReader& reader, TelemetrySink& sink) {
  const auto text = reader.string("sink");
  if (!text) return;
  if (*text == "none") {
    sink = TelemetrySink::none;
  } else if (*text == "jsonl") {
    sink = TelemetrySink::jsonl;
  } else if (*text == "kafka") {
    sink = TelemetrySink::kafka;
  } else {
    reader.report("sink",
                  "unknown sink " + quoted(*text) + " (expected \"none\", \"jsonl\" or \"kafka\")");
  }
}

// A string the chosen sink needs: present and not empty. `wanted` says whether it is needed.
void read_needed(TableReader& reader, std::string_view key, bool wanted, std::string_view sink,
                 std::string& out) {
  auto value = reader.string(key);
  if (value) out = std::move(*value);
  if (!wanted) return;
  if (reader.find(key) == nullptr && out.empty()) {
    reader.report(key, "required with sink = \"" + std::string(sink) + "\"");
  } else if (value && out.empty()) {
    reader.report(key, "must not be empty with sink = \"" + std::string(sink) + "\"");
  }
}

}  // namespace

Schema telemetry_schema() noexcept { return telemetry_fields; }

void read_telemetry(const toml::table& table, TelemetryConfig& telemetry,
                    Diagnostics& diagnostics) {
  TableReader reader(table, "telemetry", telemetry_fields, diagnostics);
  read_sink(reader, telemetry.sink);
  const bool jsonl = telemetry.sink == TelemetrySink::jsonl;
  const bool kafka = telemetry.sink == TelemetrySink::kafka;
  read_needed(reader, "path", jsonl, "jsonl", telemetry.path);
  assign(telemetry.max_file_bytes, reader.size("max_file_bytes", 0, 1024 * gib));
  assign(telemetry.keep_files, reader.integer("keep_files", 0, k_max_keep_files));
  read_needed(reader, "brokers", kafka, "kafka", telemetry.brokers);
  read_needed(reader, "topic", kafka, "kafka", telemetry.topic);
  assign(telemetry.queue_capacity,
         reader.integer("queue_capacity", k_min_queue_capacity, k_max_queue_capacity,
                        " (rounded up to a power of two)"));
  read_bounded(reader, "poll_interval", k_max_poll_interval, Zero::rejected,
               telemetry.poll_interval);
  read_bounded(reader, "drain_timeout", k_max_drain_timeout, Zero::allowed,
               telemetry.drain_timeout);
  reader.reject_unknown_keys();
}

}  // namespace levee::config::detail
