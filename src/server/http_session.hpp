#pragma once
// One client connection: reads HTTP/1.1 requests one after another (so pipelined requests
// are answered in order), enforces the server limits, asks the dispatcher for a handler,
// and writes the response.
//
// Limits and their answers: header bytes 431, body bytes 413, missing Host on 1.1 400,
// Content-Length together with Transfer-Encoding 400 and close (no request smuggling),
// unsupported transfer coding 501, HTTP version 505, header/body too slow 408 and close;
// idle keep-alive connections are closed after idle_timeout without an answer.
//
// The same code serves a plain TCP socket (HttpSession) and a TLS stream whose handshake is
// done (TlsHttpSession): BasicHttpSession is a template over the stream, instantiated for
// both in http_session.cpp. The plain socket keeps its fast paths (a non-blocking send
// before any asynchronous write); over TLS the small writes are gathered into one record,
// and the connection ends with a close_notify.
//
// Threading and ownership: runs on one worker's io_context. run() keeps the session alive
// (its frame holds a shared_ptr to it) until the connection is closed; the worker's
// SessionSet holds plain pointers only to reach live sessions for drain().

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "config/config.hpp"
#include "core/client_watch.hpp"
#include "core/dispatcher.hpp"
#include "core/response.hpp"
#include "server/connection_gate.hpp"
#include "server/request_body.hpp"
#include "server/request_parser.hpp"
#include "server/server_metrics.hpp"
#include "server/session_set.hpp"
#include "server/tls_stream.hpp"

namespace levee::server {

class AccessLog;

struct SessionContext {
  const config::ServerConfig& limits;
  core::Dispatcher& dispatcher;
  ConnectionGate& gate;
  SessionSet& sessions;
  const ServerMetrics* metrics = nullptr;  // null: not counted (admin listener)
  AccessLog* access_log = nullptr;         // null: off
  bool count_connection = true;            // false for admin sessions
  // HTTP/2 is spoken on this listener when [server.http2] enables it (the proxy's, not the
  // admin one).
  bool offer_http2 = false;
};

// While a request is being handled the session reads nothing; a layer that parks the request
// can still learn that the client went away (core::ClientWatch): the session then starts its
// next read early. End of stream or an error means gone; bytes are the start of a pipelined
// request, kept for the next request, and the watch ends. A read still pending when the
// answer is written is not cancelled: it is the next request's read.
template <class Stream>
class BasicHttpSession final : public std::enable_shared_from_this<BasicHttpSession<Stream>>,
                               public core::ClientWatch,
                               public TrackedSession,
                               public BodySource {
 public:
  BasicHttpSession(Stream stream, SessionContext& context);
  ~BasicHttpSession();
  BasicHttpSession(const BasicHttpSession&) = delete;
  BasicHttpSession& operator=(const BasicHttpSession&) = delete;

  [[nodiscard]] boost::asio::awaitable<void> run();
  // The signal run()'s cancellation slot is bound to (Listener's co_spawn): emitted when the
  // client of a request in its route goes away, so that whatever the request waits on ends.
  [[nodiscard]] std::shared_ptr<boost::asio::cancellation_signal> cancellation() const {
    return cancel_;
  }
  void drain() override;
  // Called by the SessionSet's sweep: cancels the pending operation if the deadline passed,
  // and starts watching the client of a request that has been in its route for a sweep.
  void expire_if_due(std::chrono::steady_clock::time_point now) override;

  // The next piece of the current request's streamed body (RequestBody::read).
  [[nodiscard]] boost::asio::awaitable<core::BodyPiece> read_body_piece(
      RequestParser& parser) override;

  void watch(std::function<void()> on_gone) override;
  void stop_watching() override;
  [[nodiscard]] bool gone() const noexcept override { return client_gone_; }
  [[nodiscard]] bool gone_now() const noexcept override;

 private:
  static constexpr bool k_tls = !std::is_same_v<Stream, boost::asio::ip::tcp::socket>;

  // The TCP socket under the stream: for cancellation, peeks and shutdown.
  [[nodiscard]] boost::asio::ip::tcp::socket& socket() noexcept;
  [[nodiscard]] boost::asio::awaitable<bool> wait_for_bytes(bool first_request);
  // Reads, handles and answers one request; false when the connection must close.
  [[nodiscard]] boost::asio::awaitable<bool> serve_one();
  [[nodiscard]] boost::asio::awaitable<void> reject(RejectReason reason, int status,
                                                    std::string_view message);
  // `body_sent`: the body bytes handed to the socket, for the access log.
  [[nodiscard]] boost::asio::awaitable<bool> write(const core::Response& response,
                                                   bool head_request, bool keep_alive,
                                                   unsigned version, std::size_t& body_sent);
  // Writes a streamed body piece by piece, each after the last was handed to the socket;
  // false when the body ended with an error or the client's socket failed.
  [[nodiscard]] boost::asio::awaitable<bool> write_stream(core::BodyStream& stream, bool chunked,
                                                          std::size_t& body_sent);
  [[nodiscard]] boost::asio::awaitable<bool> send_all(
      std::array<boost::asio::const_buffer, 3> buffers);
  [[nodiscard]] boost::asio::awaitable<void> lingering_close();
  // Ends the connection: over TLS a close_notify first (bounded), so that a client reading a
  // close-delimited body can tell its end from a cut.
  [[nodiscard]] boost::asio::awaitable<void> close();
  [[nodiscard]] boost::asio::awaitable<void> send_close_notify();
  void count_reject(RejectReason reason) const;
  void start_read();
  [[nodiscard]] boost::asio::mutable_buffer idle_read_space();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  // Bounds the next socket operations: when the deadline passes, pending operations are
  // cancelled (not the socket closed, unlike beast::tcp_stream) so that a 408 can still be
  // written.
  void arm(std::chrono::steady_clock::duration timeout);
  void disarm() noexcept { deadline_ = std::chrono::steady_clock::time_point::max(); }
  [[nodiscard]] bool timed_out() const noexcept { return timed_out_; }

  Stream stream_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  boost::beast::flat_buffer buffer_;
  SessionContext context_;  // a copy: the listener may be gone before a session at a forced stop
  std::string client_address_;
  bool idle_ = false;
  bool timed_out_ = false;
  bool draining_ = false;
  // A request is in its route (between dispatch and its answer), and how many sweeps saw it.
  bool in_route_ = false;
  bool body_pending_ = false;  // the request's body is streaming and not read to its end
  unsigned route_sweeps_ = 0;
  std::shared_ptr<boost::asio::cancellation_signal> cancel_ =
      std::make_shared<boost::asio::cancellation_signal>();
  // ClientWatch:
  std::function<void()> on_client_gone_;
  bool client_gone_ = false;
  // A read started by watch(), into buffer_; it outlives the request and becomes the read of
  // the next one.
  bool reading_ = false;
  boost::system::error_code read_error_;  // how it ended, for wait_for_bytes
  // wait_for_bytes sleeps on it while that read is pending; made on first use, so that a
  // connection that never parks a request does not pay for it.
  std::unique_ptr<boost::asio::steady_timer> read_done_;
  // TLS only: where a head and a small body are gathered into one write (one TLS record).
  std::string gathered_;
};

// The member functions are defined in http_session.cpp, which instantiates both. A TLS session
// is made where <boost/asio/ssl/stream.hpp> is included (server/connection_start.cpp).
using HttpSession = BasicHttpSession<boost::asio::ip::tcp::socket>;
using TlsHttpSession = BasicHttpSession<TlsStream>;

}  // namespace levee::server
