#pragma once
// One HTTP/2 client connection (RFC 9113), h2c with prior knowledge or h2 chosen by ALPN over
// TLS. nghttp2 does the framing, HPACK, flow control and the protocol's own checks; this
// session feeds it the socket's bytes, writes what it produces, and turns each stream into a
// core::Request answered by the same dispatcher, routes and layers as HTTP/1.1.
//
// Limits ([server.http2] and [server]): max_concurrent_streams (SETTINGS, nghttp2 refuses the
// excess), the header list (max_header_bytes: 431), the body (max_body_bytes: 413), the
// receive windows, stream_idle_timeout (a stream that makes no progress while levee reads its
// body or writes its answer is reset: a zero window cannot hold it), idle_timeout and
// header_timeout for the connection, and max_resets_per_second (rapid reset). Floods of
// frames levee must answer (PING, SETTINGS) end the connection with ENHANCE_YOUR_CALM once
// nghttp2's queue of unsent acknowledgements is full (nghttp2_option_set_max_outbound_ack).
//
// Threading: runs on one worker's io_context; every nghttp2 call is made there.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>

#include "server/http_session.hpp"

namespace levee::server {

using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

// Serves one HTTP/2 connection until it closes; spawned on the socket's executor, owned by
// its own coroutine, registered in context.sessions for drain. The client preface is still
// unread in the socket (the listener only peeked at it).
void start_http2_session(boost::asio::ip::tcp::socket socket, SessionContext& context);
// The same over a TLS stream whose handshake selected ALPN "h2".
void start_http2_session(std::unique_ptr<TlsStream> stream, SessionContext& context);

}  // namespace levee::server
