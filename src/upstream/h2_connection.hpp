#pragma once
// One HTTP/2 connection to an upstream (h2c, or h2 over TLS with ALPN), carrying many
// requests at once as streams. nghttp2 does the framing, flow control, HPACK and PING
// answers; this class feeds it bytes and carries its output (mem_recv / mem_send): one reader
// coroutine per connection, and writes started by whatever gave nghttp2 something to send.
//
// Threading: the owning worker's io_context only; no lock. Ownership: the H2Pool that made it
// holds it while it takes streams, and its reader coroutine and a write under way hold it
// (shared_ptr) until they end, so a connection that is closing finishes without its pool. An
// H2Stream is held by the caller waiting for it and by the connection until nghttp2 closes
// the stream.
//
// Lifecycle: connecting (requests may be submitted already: nghttp2 queues them until the
// connection is up) → open → retiring (GOAWAY received, or idle for idle_timeout: takes no
// new stream, finishes the ones it has) → closed. A connect or handshake failure fails every
// stream on it with that error; a lost connection fails them with `reset`.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/headers.hpp"
#include "upstream/h2_message.hpp"
#include "upstream/upstream_error.hpp"
#include "upstream/upstream_stream.hpp"
#include "upstream/upstream_transport.hpp"

struct nghttp2_session;

namespace levee::upstream {

// One request's exchange on a connection. Its answer is taken whole when the stream has ended
// by the time its caller resumes after the body's first DATA (a unary gRPC answer whose
// message and trailers come together, most small answers), else streamed (H2Body): from
// `streaming` on, DATA goes to `pending` and is consumed, for flow control, only once the
// reader has taken it, so a slow reader pauses the upstream within the stream's window.
struct H2Stream {
  H2Stream(const boost::asio::any_io_executor& executor, std::uint64_t max_body_bytes,
           std::shared_ptr<const std::string> request_body)
      : wake(executor),
        body_wake(executor),
        response(max_body_bytes),
        body(std::move(request_body)) {}

  // The caller waits on it, up to its deadline; the connection cancels it when the stream
  // ends (so a completion, not an expiry, means `done`).
  boost::asio::steady_timer wake;
  // A request body still arriving from the client (H2Pool's body pump, which sleeps on
  // body_wake until nghttp2 has taken its piece or the stream ends): nghttp2 is deferred while
  // no piece is there, and resumed when one comes.
  boost::asio::steady_timer body_wake;
  bool body_streamed = false;
  std::string_view body_piece;  // the client's bytes nghttp2 has not taken yet
  bool body_source_ended = false;
  bool body_deferred = false;
  std::optional<core::BodyError> client_body_error;  // the client's body failed: not upstream's
  H2ResponseAssembler response;
  std::shared_ptr<const std::string> body;  // the request body, read by nghttp2 as it sends
  std::size_t body_sent = 0;
  std::int32_t id = -1;
  bool done = false;
  bool body_begun = false;             // DATA has arrived after the final head
  bool streaming = false;              // the caller took the head; DATA goes to `pending`
  std::string pending;                 // streamed bytes not read yet
  std::size_t pending_owed = 0;        // of them, bytes not consumed yet (flow control)
  bool headers_sent = false;           // its HEADERS left levee: the upstream may have acted on it
  bool refused = false;                // the upstream did not process it (GOAWAY, REFUSED_STREAM)
  bool connect_failed = false;         // the connection never came up
  std::optional<UpstreamError> error;  // set when done unless the answer is complete
};

class H2Connection : public std::enable_shared_from_this<H2Connection> {
 public:
  // `on_change` runs (on the worker's thread) whenever the connection may take more streams
  // or has stopped taking them: a stream ended, the peer's settings arrived, it retired or
  // closed. The pool it calls outlives the connection's use of it (see H2Pool).
  H2Connection(boost::asio::any_io_executor executor, const config::UpstreamConfig& config,
               const std::vector<boost::asio::ip::tcp::endpoint>& endpoints, TransportPtr transport,
               std::function<void()> on_change);
  ~H2Connection();
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  // Connects (and shakes hands) in the background; reading and writing follow.
  void start();
  // Hands `fields` and the stream's body to nghttp2; false when the connection takes no new
  // stream (the stream is then untouched).
  [[nodiscard]] bool submit(const std::shared_ptr<H2Stream>& stream,
                            const std::vector<core::Header>& fields);
  // The caller gave up on `stream` (timeout, cancellation): it is reset (RST_STREAM CANCEL).
  void abandon(H2Stream& stream);
  // A streamed request body has a new piece, or its end: nghttp2 sends it.
  void resume_body(H2Stream& stream);
  // `bytes` of `stream`'s DATA were read: the upstream may send that much more (WINDOW_UPDATE
  // for the stream and the connection).
  void consume(const H2Stream& stream, std::size_t bytes);
  // Closes at once, failing what is in flight (worker shutdown).
  void close();

  [[nodiscard]] bool takes_streams() const noexcept;
  [[nodiscard]] bool retiring() const noexcept { return retiring_ || closed_; }
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  [[nodiscard]] bool connecting() const noexcept { return !up_ && !closed_; }
  [[nodiscard]] std::size_t streams() const noexcept { return streams_.size(); }
  // The peer's SETTINGS_MAX_CONCURRENT_STREAMS (100 assumed until it arrives).
  [[nodiscard]] std::size_t stream_limit() const noexcept;

 private:
  friend struct H2Callbacks;

  static boost::asio::awaitable<void> run(std::shared_ptr<H2Connection> self);
  [[nodiscard]] boost::asio::awaitable<std::optional<UpstreamError>> connect();
  // Starts writing what nghttp2 has to send, unless a write is under way (its completion
  // writes what came meanwhile). The write begins before this returns: a call's HEADERS
  // leave with the call, not after the work already queued on the worker (under a burst,
  // the intake of every other request).
  void flush();
  // Ends every open stream with `error` and closes the connection.
  void fail(const UpstreamError& error, bool connect_failure);
  void finish(H2Stream& stream);
  void retire();
  void arm_idle_timer();
  void changed();

  boost::asio::any_io_executor executor_;
  const config::UpstreamConfig& config_;
  const std::vector<boost::asio::ip::tcp::endpoint>& endpoints_;
  TransportPtr transport_;
  std::function<void()> on_change_;
  boost::asio::ip::tcp::socket socket_;
  UpstreamStream stream_;
  boost::asio::steady_timer connect_deadline_;
  boost::asio::steady_timer idle_timer_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, std::shared_ptr<H2Stream>> streams_;
  bool up_ = false;
  bool retiring_ = false;
  bool closed_ = false;
  bool connect_timed_out_ = false;
  bool writing_ = false;     // an async_write of out_ is under way
  bool in_nghttp2_ = false;  // inside mem_send: its callbacks must not call it again
  std::string out_;          // mem_send's output, gathered into one write
  bool counted_ = false;     // in levee_upstream_h2_connections (until closed)
};

}  // namespace levee::upstream
