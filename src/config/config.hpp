#pragma once
// levee's configuration after loading and validation: plain values, units already applied.
// Built once at start-up by config::load_file(); immutable afterwards and shared read-only
// by every worker thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace levee::config {

using Duration = std::chrono::nanoseconds;

struct Endpoint {
  std::string host;  // literal address or name, resolved at start-up
  std::uint16_t port = 0;
  [[nodiscard]] std::string to_string() const;
};

struct LogConfig {
  std::string level = "info";  // trace | debug | info | warn | error | critical | off
  std::string access_log;      // JSON-lines path; empty = off (the default)
};

struct ServerConfig {
  Endpoint listen{"127.0.0.1", 8080};
  Endpoint admin_listen{"127.0.0.1", 9901};
  unsigned workers = 0;  // 0 in the file means "hardware threads"; resolved by the loader
  Duration drain_timeout = std::chrono::seconds(10);
  std::uint32_t max_connections = 10000;
  std::uint64_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 1024 * 1024;
  Duration header_timeout = std::chrono::seconds(10);
  Duration body_timeout = std::chrono::seconds(30);
  Duration idle_timeout = std::chrono::seconds(60);
};

struct UpstreamConfig {
  std::string name;
  Endpoint address;
  Duration connect_timeout = std::chrono::seconds(1);
  Duration request_timeout = std::chrono::seconds(5);
  std::uint32_t max_idle_connections = 64;           // per worker
  Duration idle_timeout = std::chrono::seconds(30);  // pooled connection lifetime when unused
  std::uint64_t max_response_bytes = 64ull * 1024 * 1024;
};

enum class RouteMode { pass, collapse, batch };

// The mode as written in the config file ("pass", "collapse", "batch").
[[nodiscard]] std::string_view to_string(RouteMode mode) noexcept;

// [routes.collapse] (DESIGN.md "Collapse").
enum class CollapseStrategy { inflight, window };
enum class FlushPolicy { immediate, timer, size };

struct CollapseConfig {
  CollapseStrategy strategy = CollapseStrategy::inflight;
  FlushPolicy policy = FlushPolicy::timer;            // window only
  Duration max_wait = std::chrono::milliseconds(50);  // window: the envelope's time limit
  // Defaults are the `default` preset (seed 003's balanced settings).
  std::uint64_t max_waiters = 100;  // followers per slot; a full slot opens another
  std::uint64_t max_slots = 10000;  // slots per route; a full table passes requests through
  bool enabled = true;              // preset "disabled": the route passes everything through
  Duration leader_age{0};           // inflight: after it, one more call may go upstream; 0 = off
  // Header names (lower case) whose values are part of the key.
  std::vector<std::string> vary = {"authorization", "cookie", "accept", "accept-encoding",
                                   "accept-language"};
  std::vector<std::string> methods = {"GET", "HEAD"};  // others key on their body too
  bool debug_header = false;                           // X-Levee-Collapse on collapsed answers
};

// [routes.batch] (DESIGN.md "Batch").
enum class BatchPayload { json_array, ndjson, wrapped };
enum class BatchResponse { json, ndjson };
enum class BatchDemux { position, id };

struct BatchConfig {
  std::string upstream_path;  // the upstream's batch endpoint, e.g. "/process_batch"
  std::uint64_t max_batch_size = 100;
  std::uint64_t max_batch_bytes = 1024 * 1024;  // the items' bytes in one call
  std::uint64_t max_item_bytes = 64 * 1024;     // larger items get 413
  Duration max_wait = std::chrono::milliseconds(10);
  FlushPolicy policy = FlushPolicy::timer;
  std::uint64_t max_inflight_batches = 8;  // calls in flight on this route
  std::uint64_t max_queued_batches = 16;   // formed batches waiting behind them
  BatchPayload payload = BatchPayload::json_array;
  std::vector<std::string> wrap_path = {"requests"};  // payload = "wrapped"
  BatchResponse response = BatchResponse::json;
  std::vector<std::string> results_path;  // empty: the response body is the array
  BatchDemux demux = BatchDemux::position;
  std::string id_field = "id";   // demux = "id"
  std::string item_error_field;  // empty: no per-item failure marker
  int item_error_status = 502;   // the status a caller gets for its failed item
  bool debug_header = false;     // X-Levee-Batch on answered items
};

struct RouteConfig {
  std::string name;
  std::string host;  // empty = any host
  std::string path_prefix = "/";
  std::vector<std::string> methods;  // empty = every method
  std::string upstream;
  RouteMode mode = RouteMode::pass;
  CollapseConfig collapse;  // used when mode is collapse
  BatchConfig batch;        // used when mode is batch
  // Admission (DESIGN.md "Backpressure"); batch routes only in this build. Items parked or in
  // flight; 0 = what the batch limits imply ((inflight + queued + 1) x max_batch_size).
  std::uint64_t max_pending = 0;
  Duration admission_timeout{0};  // how long an item may wait for room before 503
};

struct Config {
  std::string source;  // the file it was loaded from, for messages
  ServerConfig server;
  LogConfig log;
  std::vector<UpstreamConfig> upstreams;
  std::vector<RouteConfig> routes;

  [[nodiscard]] const UpstreamConfig* find_upstream(std::string_view name) const noexcept;
};

}  // namespace levee::config
