#pragma once
// levee's configuration after loading and validation: plain values, units already applied.
// Built once at start-up by config::load_file(); immutable afterwards and shared read-only
// by every worker thread. A reload (proxy/proxy_server.hpp) loads a new one and compares its
// sections with the running one's (operator==) to carry state over where nothing changed.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
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
  bool operator==(const Endpoint&) const = default;
};

struct LogConfig {
  std::string level = "info";  // trace | debug | info | warn | error | critical | off
  std::string access_log;      // JSON-lines path; empty = off (the default)
  bool operator==(const LogConfig&) const = default;
};

// [server.http2]: the HTTP/2 side of the proxy listener (h2c with prior knowledge, and h2
// chosen by ALPN over TLS). The limits bound what one connection can make levee hold.
struct Http2Config {
  bool enabled = true;
  std::uint32_t max_concurrent_streams = 100;       // SETTINGS_MAX_CONCURRENT_STREAMS
  std::uint32_t initial_window_bytes = 256 * 1024;  // per stream, SETTINGS_INITIAL_WINDOW_SIZE
  std::uint32_t connection_window_bytes = 1 << 20;  // the whole connection's receive window
  Duration stream_idle_timeout = std::chrono::seconds(30);  // no progress on a stream: reset
  // Streams a client may reset (or have refused) per second, averaged over a short burst,
  // before the connection is closed with ENHANCE_YOUR_CALM (rapid reset, CVE-2023-44487).
  std::uint32_t max_resets_per_second = 100;
  bool operator==(const Http2Config&) const = default;
};

enum class TlsVersion { tls1_2, tls1_3 };

// The version as written in the config file ("1.2", "1.3").
[[nodiscard]] std::string_view to_string(TlsVersion version) noexcept;

// One listener's TLS: off unless cert_file is set (the loader requires both files or neither).
struct TlsListenerConfig {
  std::string cert_file;
  std::string key_file;
  std::string ciphers;  // OpenSSL cipher list for TLS 1.2; empty = OpenSSL's default
  TlsVersion min_version = TlsVersion::tls1_2;
  [[nodiscard]] bool enabled() const noexcept { return !cert_file.empty(); }
  bool operator==(const TlsListenerConfig&) const = default;
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
  Http2Config http2;
  // TLS on server.listen when both files are set (PEM; the cert file may hold the chain).
  // Relative paths are taken from the config file's directory. A reload (SIGHUP) reads them
  // again for new connections (server/tls_context_slot.hpp).
  TlsListenerConfig tls;
  // TLS on server.admin_listen, likewise; the ciphers and minimum version are tls's.
  TlsListenerConfig admin_tls;
  bool operator==(const ServerConfig&) const = default;
};

// [upstreams.NAME.breaker] (DESIGN.md "Cache and circuit breaker"): one breaker per upstream,
// shared by every worker.
struct BreakerConfig {
  bool enabled = true;
  double failure_threshold = 0.5;  // share of failed calls in the window that opens it
  Duration window = std::chrono::seconds(10);
  Duration open_for = std::chrono::seconds(5);
  std::uint32_t min_calls = 20;        // fewer calls in the window never open it
  std::uint32_t half_open_probes = 1;  // calls let through at once while half-open
  bool count_5xx = true;               // upstream 5xx answers count as failures
  bool operator==(const BreakerConfig&) const = default;
};

// How levee speaks to an upstream: HTTP/1.1 (over TLS with `tls`), HTTP/2 with prior
// knowledge in cleartext (h2c), or HTTP/2 over TLS chosen by ALPN (h2).
enum class UpstreamProtocol { http1, h2c, h2 };

// The protocol's name as written in the config file ("http1", "h2c", "h2").
[[nodiscard]] std::string_view to_string(UpstreamProtocol protocol) noexcept;

// TLS to an upstream (the tls_* keys of [upstreams.NAME]). Paths are absolute after loading
// (a relative one is taken from the config file's directory).
struct UpstreamTlsConfig {
  bool enabled = false;     // `tls`, or implied by protocol = "h2"
  std::string ca_file;      // PEM; empty: the system's default trust store
  std::string server_name;  // SNI and the name verified; empty: the address's host
  std::string client_cert;  // PEM, with client_key: both or neither
  std::string client_key;
  bool verify = true;  // false only for tests; logged loudly at start
  bool operator==(const UpstreamTlsConfig&) const = default;
};

struct UpstreamConfig {
  std::string name;
  Endpoint address;
  UpstreamProtocol protocol = UpstreamProtocol::http1;
  UpstreamTlsConfig tls;
  // HTTP/2: connections per worker; each carries as many streams as the peer's
  // SETTINGS_MAX_CONCURRENT_STREAMS allows.
  std::uint32_t max_h2_connections = 2;
  Duration connect_timeout = std::chrono::seconds(1);
  Duration request_timeout = std::chrono::seconds(5);
  std::uint32_t max_idle_connections = 64;           // per worker
  Duration idle_timeout = std::chrono::seconds(30);  // pooled connection lifetime when unused
  std::uint64_t max_response_bytes = 64ull * 1024 * 1024;
  // Calls in flight to this upstream from all workers together; beyond it a call waits up to
  // its route's admission_timeout, then the request gets 503.
  std::uint32_t max_inflight = 1024;
  BreakerConfig breaker;
  bool operator==(const UpstreamConfig&) const = default;
};

enum class RouteMode { pass, collapse, batch };

// The mode as written in the config file ("pass", "collapse", "batch").
[[nodiscard]] std::string_view to_string(RouteMode mode) noexcept;

// [routes.collapse] (DESIGN.md "Collapse").
enum class CollapseStrategy { inflight, window };
enum class FlushPolicy { immediate, timer, size, adaptive, learned };

// The policy's name as written in the config file.
[[nodiscard]] std::string_view to_string(FlushPolicy policy) noexcept;

// What `adaptive` and `learned` are tuned with (DESIGN.md "Flush policies", docs/policies.md);
// the same keys in [routes.collapse] (strategy = "window") and [routes.batch].
struct PolicyTuning {
  // learned: the ONNX model; a relative path is taken from the config file's directory.
  std::string model;
  // adaptive, and learned's fallback: upstream calls per request it may give back, compared
  // with waiting out max_wait, for less latency (docs/policies.md).
  double reduction_slack = 0.0075;
  // adaptive/learned: between arrivals, the open group is asked again this often.
  Duration tick = std::chrono::milliseconds(1);
  // learned: an evaluation slower than this is replaced by adaptive's answer (and counted).
  Duration decision_deadline = std::chrono::microseconds(100);
  bool operator==(const PolicyTuning&) const = default;
};

struct CollapseConfig {
  CollapseStrategy strategy = CollapseStrategy::inflight;
  FlushPolicy policy = FlushPolicy::timer;            // window only
  PolicyTuning tuning;                                // window only
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
  // Fleet collapsing (docs/fleet.md): one upstream call per key across every instance that
  // shares [cache] redis. Zero durations mean their defaults, resolved by the collapse layer.
  bool fleet = false;
  Duration lease_ttl{0};                        // 0: the upstream's request_timeout
  Duration fleet_wait{0};                       // 0: max_wait
  Duration fleet_stale{0};                      // 0: never serve a stale answer to a waiter
  std::uint64_t fleet_max_bytes = 1024 * 1024;  // larger answers stay with their holder
  bool operator==(const CollapseConfig&) const = default;
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
  PolicyTuning tuning;
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
  bool operator==(const BatchConfig&) const = default;
};

// [routes.cache] (DESIGN.md "Cache and circuit breaker"): present = the route caches.
struct RouteCacheConfig {
  bool enabled = false;
  Duration ttl = std::chrono::seconds(1);  // freshness when the upstream gives no max-age
  Duration stale_while_revalidate{0};      // serve stale this long while one refresh runs
  bool invalidate_on_mutation = true;      // a non-GET drops the cached GETs of its path
  bool honour_cache_control = true;        // upstream no-store, private, max-age, s-maxage
  std::uint64_t max_entry_bytes = 1024 * 1024;
  bool operator==(const RouteCacheConfig&) const = default;
};

// [cache]: what every caching route shares.
struct CacheConfig {
  std::uint64_t max_bytes = 256ull * 1024 * 1024;  // the memory tier's budget (LRU)
  std::optional<Endpoint> redis;                   // the shared tier; absent = memory only
  // Or the shared tier's primary as Redis Sentinel names it (exclusive with `redis`): the
  // sentinels asked in turn, and the name they monitor it under.
  std::vector<Endpoint> redis_sentinels;
  std::string redis_master_name;
  Duration redis_timeout = std::chrono::milliseconds(50);
  Duration redis_connect_timeout = std::chrono::milliseconds(200);
  std::string redis_key_prefix = "levee:";
  // A Redis is configured, directly or through sentinels.
  [[nodiscard]] bool has_redis() const noexcept {
    return redis.has_value() || !redis_sentinels.empty();
  }
  bool operator==(const CacheConfig&) const = default;
};

// [telemetry] (DESIGN.md "Observability"): one event per flush, to a sink, through a bounded
// queue that drops (and counts) what does not fit rather than block a request.
enum class TelemetrySink { none, jsonl, kafka };

// The sink's name as written in the config file.
[[nodiscard]] std::string_view to_string(TelemetrySink sink) noexcept;

struct TelemetryConfig {
  TelemetrySink sink = TelemetrySink::none;
  std::string path;                                        // jsonl: the file; relative to the cwd
  std::uint64_t max_file_bytes = 64ull << 20;              // jsonl: rotate beyond it; 0 = never
  std::uint32_t keep_files = 5;                            // jsonl: rotated files kept (path.1 ...)
  std::string brokers;                                     // kafka: "host:port,host:port"
  std::string topic = "levee-flush-events";                // kafka
  std::uint64_t queue_capacity = 8192;                     // events queued for the sink
  Duration poll_interval = std::chrono::milliseconds(10);  // how often the queue is drained
  Duration drain_timeout = std::chrono::seconds(2);        // at shutdown, for what is still queued
  bool operator==(const TelemetryConfig&) const = default;
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
  RouteCacheConfig cache;
  // Admission (DESIGN.md "Backpressure"): requests parked or in flight on this route. 0 = the
  // default: 10000, or for a batch route what its limits imply
  // ((inflight + queued + 1) x max_batch_size).
  std::uint64_t max_pending = 0;
  Duration admission_timeout{0};  // how long a request may wait for room before 503
  // Send a chunked request's trailer fields upstream as trailers (pass routes only). Off:
  // they are dropped, as nginx does. Never merged into the header section either way.
  bool forward_trailers = false;
  // gRPC unary calls (pass and collapse routes): the collapse key takes the request message
  // (collapse.methods defaults to POST), grpc-timeout is the call's deadline, and levee's
  // own refusals reach the client as grpc-status trailers (layers/grpc/).
  bool grpc = false;
  bool operator==(const RouteConfig&) const = default;
};

inline constexpr std::uint64_t k_default_max_pending = 10000;

// Where a key's value was written, so that checks made after loading (config/preflight.hpp)
// name the place like the loader's own errors do.
struct KeyOrigin {
  std::string file;        // the config file, or "environment variable LEVEE_..."
  std::size_t line = 0;    // 1-based; 0 = no position (environment)
  std::size_t column = 0;  // 1-based; 0 = unknown
};

struct Config {
  std::string source;  // the file it was loaded from, for messages
  // Dotted key ("server.listen", "upstreams.backend.address", "routes[0].batch.model") ->
  // where it was set, for every key the file or the environment set; keys left at their
  // defaults are absent.
  std::map<std::string, KeyOrigin> origins;
  ServerConfig server;
  LogConfig log;
  std::vector<UpstreamConfig> upstreams;
  std::vector<RouteConfig> routes;
  CacheConfig cache;
  TelemetryConfig telemetry;

  [[nodiscard]] const UpstreamConfig* find_upstream(std::string_view name) const noexcept;
};

}  // namespace levee::config
