#pragma once
// What every worker's connections to one upstream share, built once per upstream with the
// configuration (proxy/guards.hpp): the TLS client context and the transport's metrics.
// Read-only after it is built; the counters and gauges are thread-safe.

#include <memory>

#include "upstream/tls_client_context.hpp"

namespace levee::admin {
class Counter;
class Gauge;
}  // namespace levee::admin

namespace levee::upstream {

// Registry children (never freed) or null in tests that register none.
struct UpstreamTransportMetrics {
  admin::Counter* tls_handshake_failures = nullptr;  // levee_upstream_tls_handshake_failures_total
  admin::Counter* h2_goaways = nullptr;              // levee_upstream_h2_goaways_total
  admin::Gauge* h2_connections = nullptr;            // levee_upstream_h2_connections
  admin::Gauge* h2_streams = nullptr;                // levee_upstream_h2_streams
};

struct UpstreamTransport {
  TlsContextPtr tls;  // null: cleartext
  UpstreamTransportMetrics metrics;
};

using TransportPtr = std::shared_ptr<const UpstreamTransport>;

}  // namespace levee::upstream
