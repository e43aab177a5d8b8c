#pragma once
// A client connection from its accept until its protocol is known, then handed to the session
// that speaks it: the first bytes are peeked at, never read (server/first_bytes.hpp), so the
// session that takes the socket finds them all still there.
//
// - HTTP/1.x: an HttpSession at once. The plain path costs one non-blocking peek more than a
//   bare session: when the request is already in the socket, nothing waits.
// - The HTTP/2 preface ("PRI "), on a listener that offers HTTP/2 (SessionContext::offer_http2:
//   the proxy listener when [server.http2] is enabled): start_http2_session(socket).
// - A TLS record (0x16), when the listener has TLS: the handshake, bounded by header_timeout;
//   then ALPN "h2" (offered only when HTTP/2 is) goes to start_http2_session(stream), anything else
//   to a TlsHttpSession. A failed handshake is counted (levee_tls_handshake_failures_total{reason})
//   and logged, throttled, with the client's address and OpenSSL's reason.
// Without TLS on the listener, a ClientHello is given to HTTP/1.1, which answers 400; without
// HTTP/2, the preface too (505).
//
// Threading and ownership: on the accepting worker's thread. The waits and the handshake hold
// a shared_ptr to the ConnectionStart; it is in the worker's SessionSet until it hands the
// connection on, so that drain closes it and header_timeout bounds it. It holds the listener's
// connection slot (ConnectionGate) until then and gives it back if the connection ends first.

#include <boost/asio/ip/tcp.hpp>

#include "server/http_session.hpp"
#include "server/tls_context_slot.hpp"

namespace levee::server {

// Starts serving an accepted connection; `tls` is the listener's (null or empty: no TLS) and
// must outlive the worker's io_context, as `context` must.
void start_connection(boost::asio::ip::tcp::socket socket, SessionContext& context,
                      const TlsContextSlot* tls);

}  // namespace levee::server
