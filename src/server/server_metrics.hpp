#pragma once
// The counters the HTTP server itself updates: connections and the requests it refuses
// before any route sees them. Owned by the process (created from the registry at start-up),
// referenced by every session; the metric objects are thread-safe and shard per worker.

#include <array>
#include <cstddef>
#include <string_view>

namespace levee::admin {
class Counter;
class Gauge;
class Histogram;
template <class Metric>
class Family;
}  // namespace levee::admin

namespace levee::server {

// Why the server answered a request itself instead of routing it.
enum class RejectReason : std::size_t {
  header_too_large,  // 431
  body_too_large,    // 413
  bad_request,       // 400: malformed, missing Host, CL+TE, bad chunk
  unsupported,       // 501/505/417: transfer coding, HTTP version, expectation
  timeout,           // 408: headers or body too slow
  no_route,          // 404
  count_,
};

[[nodiscard]] std::string_view to_string(RejectReason reason) noexcept;

// Why levee ended an HTTP/2 connection with GOAWAY.
enum class GoawayReason : std::size_t {
  drain,           // shutting down: NO_ERROR, streams below the last id still answered
  idle,            // no stream and no frame for idle_timeout (or the preface for header_timeout)
  flood,           // frames levee must answer (PING, SETTINGS) sent faster than they are read
  rapid_reset,     // streams reset or refused faster than max_resets_per_second
  protocol_error,  // a frame or header block the RFC calls a connection error
  count_,
};

// Why levee reset an HTTP/2 stream that the client had opened.
enum class StreamResetReason : std::size_t {
  stalled,  // no progress for stream_idle_timeout (a zero window, a silent body)
  refused,  // over max_concurrent_streams, or opened after GOAWAY
  count_,
};

[[nodiscard]] std::string_view to_string(GoawayReason reason) noexcept;
[[nodiscard]] std::string_view to_string(StreamResetReason reason) noexcept;

struct Http2Metrics {
  admin::Counter* connections = nullptr;    // HTTP/2 connections served (h2c and h2)
  admin::Counter* streams = nullptr;        // streams that carried a request
  admin::Counter* client_resets = nullptr;  // streams the client reset (RST_STREAM)
  std::array<admin::Counter*, static_cast<std::size_t>(GoawayReason::count_)> goaways{};
  std::array<admin::Counter*, static_cast<std::size_t>(StreamResetReason::count_)> resets{};
};

// Why a TLS handshake with a client failed.
enum class TlsFailure : std::size_t {
  timeout,           // not done within header_timeout
  closed,            // the client closed or reset the connection during it
  version,           // no TLS version levee accepts (below 1.2, or below tls_min_version)
  no_shared_cipher,  // nor any cipher of tls_ciphers
  bad_handshake,     // anything else OpenSSL refused: malformed records, alerts from the client
  count_,
};

[[nodiscard]] std::string_view to_string(TlsFailure failure) noexcept;

// The protocol a completed TLS handshake chose by ALPN.
enum class TlsProtocol : std::size_t { h2, http1, count_ };

[[nodiscard]] std::string_view to_string(TlsProtocol protocol) noexcept;

struct TlsMetrics {
  std::array<admin::Counter*, static_cast<std::size_t>(TlsProtocol::count_)> handshakes{};
  std::array<admin::Counter*, static_cast<std::size_t>(TlsFailure::count_)> failures{};
};

struct ServerMetrics {
  admin::Gauge* open_connections = nullptr;
  admin::Counter* connections_accepted = nullptr;
  admin::Counter* connections_refused = nullptr;  // over max_connections
  std::array<admin::Counter*, static_cast<std::size_t>(RejectReason::count_)> rejected{};
  Http2Metrics http2;
  TlsMetrics tls;
  // levee_event_loop_lag_seconds{worker}: each worker takes its child at start
  // (core/loop_lag_probe.hpp).
  admin::Family<admin::Histogram>* loop_lag = nullptr;
};

}  // namespace levee::server
