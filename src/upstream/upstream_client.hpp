#pragma once
// Sends one request to one upstream over the worker's keep-alive pool and returns the
// upstream's response or an UpstreamError. Runs on the owning worker's io_context only.
//
// Contract:
// - hop-by-hop headers are removed in both directions; X-Forwarded-For, X-Forwarded-Proto
//   and Via are added to the request, Via to the response;
// - connect_timeout bounds the connect, request_timeout the exchange after it;
// - an idempotent request that fails on a *reused* connection before any response byte
//   arrived is retried once on a fresh connection (the upstream may have closed the idle
//   connection as we wrote); nothing else is retried;
// - the connection goes back to the pool only after a complete, keep-alive exchange.
// - a request with trailer fields (a route with forward_trailers) goes upstream chunked: its
//   body as one chunk, then the trailer section, less the fields strip_forbidden_trailers
//   removes; every other request carries a Content-Length;
// Cancellation: abandoning the call closes its connection (it is never returned half-used).
// An upstream with protocol = "h2c" or "h2" is called over HTTP/2 instead (h2_pool.hpp): the
// same header rules, the answer whole with its trailers.

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "core/request.hpp"
#include "core/response.hpp"
#include "core/result.hpp"
#include "upstream/connection_pool.hpp"
#include "upstream/h2_pool.hpp"
#include "upstream/upstream_error.hpp"

namespace levee::upstream {

class UpstreamClient {
 public:
  // `h2` is the worker's HTTP/2 pool for an upstream with protocol h2c or h2, else null.
  explicit UpstreamClient(ConnectionPool& pool, H2Pool* h2 = nullptr) : pool_(pool), h2_(h2) {}

  // Rewrites request.headers in place (hop-by-hop, forwarding) before sending. A streamed
  // request body (Request::body_stream) is forwarded piece by piece, its trailers only with
  // `forward_trailers`; a call whose client body failed reports UpstreamError::client_body.
  [[nodiscard]] boost::asio::awaitable<core::Result<core::Response, UpstreamError>> send(
      core::Request& request, bool forward_trailers = false);

  [[nodiscard]] const config::UpstreamConfig& config() const noexcept { return pool_.config(); }

 private:
  struct Attempt;
  [[nodiscard]] boost::asio::awaitable<Attempt> exchange(UpstreamConnection& connection,
                                                         const std::string& head,
                                                         const core::Request& request,
                                                         bool forward_trailers);
  [[nodiscard]] boost::asio::awaitable<boost::system::error_code> write_streamed_body(
      UpstreamConnection& connection, const core::Request& request, bool forward_trailers,
      std::optional<core::BodyError>& client_body, bool& streamed);

  ConnectionPool& pool_;
  H2Pool* h2_;
};

// The request line and header block as sent upstream, and for a chunked request the first
// chunk's size line (exposed for tests).
[[nodiscard]] std::string serialize_request_head(const core::Request& request,
                                                 std::string_view default_host);
// What follows the body on the wire: for a request with trailers, the end of its chunk, the
// last chunk and the trailer section; empty otherwise (exposed for tests).
[[nodiscard]] std::string serialize_request_tail(const core::Request& request);

}  // namespace levee::upstream
