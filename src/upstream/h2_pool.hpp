#pragma once
// One worker's HTTP/2 connections to one upstream (protocol = "h2c" or "h2"), and the call
// that sends a request over them. A stream goes on the first connection with room under the
// peer's SETTINGS_MAX_CONCURRENT_STREAMS; when every connection is full another is opened,
// up to max_h2_connections; beyond that the call waits for a free stream, up to its
// request_timeout (how many may wait is bounded by the upstream's max_inflight, upstream of
// here). A connection still connecting takes streams already (they go out once it is up), so
// a burst opens one connection, not one per request.
//
// Retries: a stream the upstream refused (above a GOAWAY's last_stream_id, or
// REFUSED_STREAM) is sent once more on another connection if its method is idempotent or its
// HEADERS never left levee; so is one whose connection was lost before it was sent.
//
// The answer: whole when its stream has ended by the time the call resumes after the body's
// first DATA (most answers), else streamed (H2Body, h2_body.hpp), so a server-streaming gRPC call's
// messages and a download of any size pass as they arrive. A request body still arriving from
// the client goes as it comes, paced by the upstream's window, and such a call is never
// retried (its body cannot be sent twice); a bidirectional stream's body goes on after the
// answer's head.
//
// Threading: the owning worker's io_context only. Lifetime: the pool outlives every call and
// the io_context (proxy/worker.hpp); close_all() closes its connections before the
// io_context goes. Cancellation: an abandoned call resets its stream (RST_STREAM CANCEL).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <list>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "core/request.hpp"
#include "core/response.hpp"
#include "core/result.hpp"
#include "upstream/upstream_error.hpp"
#include "upstream/upstream_transport.hpp"

namespace levee::upstream {

class H2Connection;

class H2Pool {
 public:
  H2Pool(boost::asio::any_io_executor executor, const config::UpstreamConfig& config,
         const std::vector<boost::asio::ip::tcp::endpoint>& endpoints, TransportPtr transport);
  ~H2Pool();
  H2Pool(const H2Pool&) = delete;
  H2Pool& operator=(const H2Pool&) = delete;

  // Sends `request` (its headers rewritten in place as the http1 path does) and returns the
  // whole answer with its trailers. A streamed request body is read whole first.
  [[nodiscard]] boost::asio::awaitable<core::Result<core::Response, UpstreamError>> send(
      core::Request& request);

  // Closes every connection, failing what is in flight (worker shutdown).
  void close_all();

  // Connections that take or finish streams now (not those closed), for tests and metrics.
  [[nodiscard]] std::size_t connection_count() const noexcept;

 private:
  using Clock = boost::asio::steady_timer::clock_type;
  // A connection with room for one more stream (opening one if allowed), or a timeout
  // error once `deadline` passes while every connection is full.
  [[nodiscard]] boost::asio::awaitable<core::Result<std::shared_ptr<H2Connection>, UpstreamError>>
  acquire(Clock::time_point deadline);
  [[nodiscard]] std::shared_ptr<H2Connection> pick();
  // A connection gained room, retired or closed: every waiting call looks again.
  void wake_waiters();

  boost::asio::any_io_executor executor_;
  const config::UpstreamConfig& config_;
  const std::vector<boost::asio::ip::tcp::endpoint>& endpoints_;
  TransportPtr transport_;
  std::vector<std::shared_ptr<H2Connection>> connections_;
  std::list<boost::asio::steady_timer*> waiters_;  // each in its waiting call's frame
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace levee::upstream
