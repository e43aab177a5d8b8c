#pragma once
// The client side of the TLS handshake with an upstream, over a connected socket: SNI and the
// name verified (tls_server_name), then the handshake within the caller's deadline (which
// cancels the socket's operations). A failure is counted
// (levee_upstream_tls_handshake_failures_total), logged at most a few lines a second with the
// upstream's name and OpenSSL's reason, and returned as a connect failure (502; 504 when the
// deadline cut it short). Runs on the connection's executor.

#include <boost/asio/awaitable.hpp>
#include <optional>

#include "config/config.hpp"
#include "upstream/upstream_error.hpp"
#include "upstream/upstream_stream.hpp"
#include "upstream/upstream_transport.hpp"

namespace levee::upstream {

// On success `stream` speaks TLS from then on. `timed_out` is read after a failure: the
// caller's deadline fired.
[[nodiscard]] boost::asio::awaitable<std::optional<UpstreamError>> tls_handshake(
    UpstreamStream& stream, const UpstreamTransport& transport,
    const config::UpstreamConfig& config, const bool& timed_out);

// Counts and logs a failure found after the handshake (an h2 upstream that did not select h2
// in ALPN) as tls_handshake does its own.
void report_tls_failure(const UpstreamTransport& transport, const config::UpstreamConfig& config,
                        std::string_view reason);

}  // namespace levee::upstream
