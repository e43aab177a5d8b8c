#include "server/http_session.hpp"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <utility>
#include <vector>

#include "admin/metrics.hpp"
#include "core/clock.hpp"
#include "core/log_throttle.hpp"
#include "server/access_log.hpp"
#include "server/request_body.hpp"
#include "server/request_checks.hpp"
#include "server/response_writer.hpp"

namespace levee::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr auto k_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t k_idle_read_chunk = 2048;
// Room for a full header block plus the read-ahead of a pipelined request behind it.
constexpr std::size_t k_buffer_slack = 64 * 1024;
constexpr auto k_linger_time = std::chrono::seconds(2);
constexpr std::size_t k_linger_bytes = 1024 * 1024;
constexpr auto k_write_timeout = std::chrono::seconds(30);
constexpr std::uint32_t k_log_lines_per_second = 10;
// Up to this many bytes of head and body are copied into one TLS record rather than written
// as a record each (16 KiB is TLS's largest record).
constexpr std::size_t k_gather_limit = 16 * 1024;

bool client_went_away(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::operation_aborted || ec == asio::error::broken_pipe ||
         ec == asio::error::bad_descriptor;
}

enum class ParseUntil { header, message };

// Feeds the parser what is already buffered, as Beast's reads do before they touch the socket
// (with the same eagerness as async_read_header and async_read): a request that arrived whole
// needs no read operation at all. Success means parsed as far as the buffer allows.
boost::system::error_code parse_buffered(RequestParser& parser, beast::flat_buffer& buffer,
                                         ParseUntil until) {
  parser.eager(until == ParseUntil::message);
  const auto done = [&] {
    return until == ParseUntil::message ? parser.is_done() : parser.is_header_done();
  };
  boost::system::error_code ec;
  while (buffer.size() > 0 && !done()) {
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) return {};
    if (ec) return ec;
    if (used == 0) break;  // nothing taken, nothing refused: Beast's read decides with more bytes
  }
  return {};
}

// Drops the first `sent` bytes of a gather list.
void skip_sent(std::array<asio::const_buffer, 3>& out, std::size_t sent) {
  for (auto& part : out) {
    const std::size_t skipped = std::min(sent, part.size());
    part += skipped;
    sent -= skipped;
  }
}

std::string remote_address(const asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string{} : endpoint.address().to_string();
}

}  // namespace

template <class Stream>
BasicHttpSession<Stream>::BasicHttpSession(Stream stream, SessionContext& context)
    : stream_(std::move(stream)),
      buffer_(context.limits.max_header_bytes + k_buffer_slack),
      context_(context),
      client_address_(remote_address(socket())) {
  // write() tries a plain send first and must not block on a full send buffer. (Over TLS every
  // write is asynchronous: the SSL engine must see each one whole.)
  if constexpr (!k_tls) {
    boost::system::error_code ignored;
    stream_.non_blocking(true, ignored);
  }
  context_.sessions.add(this);
  if (context_.metrics != nullptr) context_.metrics->open_connections->inc();
}

template <class Stream>
BasicHttpSession<Stream>::~BasicHttpSession() {
  context_.sessions.remove(this);
  if (context_.metrics != nullptr) context_.metrics->open_connections->dec();
  if (context_.count_connection) context_.gate.leave();
}

template <class Stream>
asio::ip::tcp::socket& BasicHttpSession<Stream>::socket() noexcept {
  if constexpr (k_tls) {
    return stream_.next_layer();
  } else {
    return stream_;
  }
}

template <class Stream>
void BasicHttpSession<Stream>::arm(std::chrono::steady_clock::duration timeout) {
  timed_out_ = false;
  deadline_ = core::Clock::now() + timeout;
}

template <class Stream>
void BasicHttpSession<Stream>::expire_if_due(std::chrono::steady_clock::time_point now) {
  // A request still in its route a sweep after it entered it is slow enough for a watch to
  // cost nothing noticeable; a fast one never pays for it.
  // Not while the request's body is still being read: the watch would read it.
  if (in_route_ && ++route_sweeps_ == 2 && !client_gone_ && !reading_ && !body_pending_ &&
      buffer_.size() == 0) {
    start_read();
  }
  if (deadline_ > now) return;
  deadline_ = std::chrono::steady_clock::time_point::max();
  timed_out_ = true;
  boost::system::error_code ignored;
  socket().cancel(ignored);
}

template <class Stream>
void BasicHttpSession<Stream>::drain() {
  draining_ = true;
  if (idle_) {
    // Waiting for the next request of a keep-alive connection: nothing accepted is lost
    // by closing now; the pending read completes with operation_aborted.
    boost::system::error_code ignored;
    socket().cancel(ignored);
  }
}

template <class Stream>
void BasicHttpSession<Stream>::watch(std::function<void()> on_gone) {
  on_client_gone_ = std::move(on_gone);
  if (client_gone_) {
    // Already known: told from the executor, never from inside the caller's own frame, and
    // only if the caller still watches then (the callback may refer to that frame).
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (auto told = std::exchange(self->on_client_gone_, nullptr)) told();
    });
    return;
  }
  if (!reading_ && buffer_.size() == 0) start_read();
}

// The client's close may be in the socket before levee has read it (no watch yet, or its
// completion has not run): a peek asks the kernel.
template <class Stream>
bool BasicHttpSession<Stream>::gone_now() const noexcept {
  if (client_gone_) return true;
  if (buffer_.size() > 0) return false;  // the client sent more: it is there
  char byte = 0;
  // native_handle() is not const in Asio, though it changes nothing. Over TLS the peek sees
  // records, not bytes of HTTP: only the end of the stream or an error is read from it.
  const int fd = const_cast<BasicHttpSession*>(this)->socket().native_handle();
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

// The read the watch started is not cancelled: it stays pending as the read of the next
// request (wait_for_bytes), so a parked request costs no cancellation and no second read.
template <class Stream>
void BasicHttpSession<Stream>::stop_watching() {
  on_client_gone_ = nullptr;
}

// Reads with a plain handler rather than a coroutine, and with no readiness wait (Asio re-arms
// the descriptor with an epoll_ctl for every wait): a parked request must stay cheap. Asio's
// reactor attempts the read at once before it waits for readiness (epoll_reactor::start_op
// reads speculatively), so an end of stream that came with the request itself, whose edge has
// been consumed already, is seen too. The handler always runs from the executor, never inside
// the caller.
template <class Stream>
void BasicHttpSession<Stream>::start_read() {
  reading_ = true;
  stream_.async_read_some(idle_read_space(), [self = this->shared_from_this()](
                                                 const boost::system::error_code& ec,
                                                 std::size_t n) { self->on_read(ec, n); });
}

template <class Stream>
asio::mutable_buffer BasicHttpSession<Stream>::idle_read_space() {
  // An idle keep-alive connection keeps only a small read buffer, so that 10,000 idle
  // clients cost a few kilobytes each. The buffer is empty whenever the next request is read:
  // the last one was parsed into its own strings.
  if (buffer_.capacity() > k_idle_read_chunk) buffer_.shrink_to_fit();
  return buffer_.prepare(k_idle_read_chunk);
}

template <class Stream>
void BasicHttpSession<Stream>::on_read(const boost::system::error_code& ec, std::size_t n) {
  reading_ = false;
  if (!ec) buffer_.commit(n);
  if (idle_) {
    read_error_ = ec;
    if (read_done_) read_done_->cancel();  // wait_for_bytes is waiting for exactly this
    return;
  }
  // The request is still being handled: bytes are the client's next (pipelined) request, kept
  // for wait_for_bytes; the client is there. Anything else means it has gone.
  if (!ec) return;
  client_gone_ = true;
  if (auto on_gone = std::exchange(on_client_gone_, nullptr)) on_gone();
  // Whatever the request waits on (a permit line, the upstream exchange, a slot) ends now.
  if (in_route_) cancel_->emit(asio::cancellation_type::terminal);
}

template <class Stream>
void BasicHttpSession<Stream>::count_reject(RejectReason reason) const {
  if (context_.metrics == nullptr) return;
  if (auto* counter = context_.metrics->rejected[static_cast<std::size_t>(reason)]) counter->inc();
}

template <class Stream>
asio::awaitable<bool> BasicHttpSession<Stream>::wait_for_bytes(bool first_request) {
  if (buffer_.size() > 0) co_return true;
  if (draining_ || client_gone_) co_return false;
  idle_ = true;
  arm(first_request ? context_.limits.header_timeout : context_.limits.idle_timeout);
  boost::system::error_code ec;
  if (reading_) {
    // The watch's read is still pending: its handler cancels read_done_ when it completes
    // (and the deadline sweep or drain() cancel the read itself).
    if (!read_done_) read_done_ = std::make_unique<asio::steady_timer>(stream_.get_executor());
    read_done_->expires_at(asio::steady_timer::time_point::max());
    (void)co_await read_done_->async_wait(k_nothrow);
    ec = read_error_;
  } else {
    auto [read_ec, n] = co_await stream_.async_read_some(idle_read_space(), k_nothrow);
    if (!read_ec) buffer_.commit(n);
    ec = read_ec;
  }
  disarm();
  idle_ = false;
  co_return !ec && buffer_.size() > 0;
}

template <class Stream>
asio::awaitable<bool> BasicHttpSession<Stream>::write(const core::Response& response,
                                                      bool head_request, bool keep_alive,
                                                      unsigned version, std::size_t& body_sent) {
  const std::string head = serialize_response_head(response, {head_request, keep_alive, version});
  const bool with_body = !head_request && status_has_body(response.status);
  if (with_body && response.stream) {
    // The head goes at once, before the first body byte is waited for: the client's time to
    // first byte is the upstream's.
    if (!co_await send_all({asio::buffer(head), asio::const_buffer{}, asio::const_buffer{}})) {
      co_return false;
    }
    co_return co_await write_stream(
        *response.stream, body_framing(response, version) == BodyFraming::chunked, body_sent);
  }
  const std::size_t body_size = with_body ? response.body_size() : 0;
  const bool sent = co_await send_all(
      {asio::buffer(head), asio::buffer(response.body_view().data(), body_size), {}});
  if (sent) body_sent = body_size;
  co_return sent;
}

template <class Stream>
asio::awaitable<bool> BasicHttpSession<Stream>::send_all(std::array<asio::const_buffer, 3> out) {
  if constexpr (k_tls) {
    // The SSL stream makes a record (and a socket write) of each buffer it is given: a head and
    // a small body go as one.
    const std::size_t total = asio::buffer_size(out);
    if (total <= k_gather_limit && (out[1].size() > 0 || out[2].size() > 0)) {
      gathered_.clear();
      for (const auto& part : out) {
        gathered_.append(static_cast<const char*>(part.data()), part.size());
      }
      out = {asio::buffer(gathered_), asio::const_buffer{}, asio::const_buffer{}};
    }
  } else {
    // Most answers fit in the socket's send buffer: written at once (the socket is in
    // non-blocking mode), they need no asynchronous operation and no completion posted back.
    boost::system::error_code ec;
    const std::size_t sent = stream_.write_some(out, ec);
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) co_return false;
    if (sent == asio::buffer_size(out)) co_return true;
    skip_sent(out, sent);
  }
  arm(k_write_timeout);
  auto [write_ec, n] = co_await asio::async_write(stream_, out, k_nothrow);
  disarm();
  co_return !write_ec;
}

template <class Stream>
asio::awaitable<bool> BasicHttpSession<Stream>::write_stream(core::BodyStream& stream, bool chunked,
                                                             std::size_t& body_sent) {
  static constexpr std::string_view k_crlf = "\r\n";
  static constexpr std::string_view k_last_chunk = "0\r\n\r\n";
  for (;;) {
    core::BodyPiece piece = co_await stream.read();
    // A body cut short must never look complete: no last chunk, and the connection closes
    // (a length-framed answer then ends short of its Content-Length).
    if (!piece) co_return false;
    const std::string_view bytes = piece.value();
    if (bytes.empty()) {
      if (!chunked) co_return true;
      co_return co_await send_all({asio::buffer(k_last_chunk), {}, {}});
    }
    bool sent = false;
    if (chunked) {
      const std::string size_line = fmt::format("{:x}\r\n", bytes.size());
      sent =
          co_await send_all({asio::buffer(size_line), asio::buffer(bytes), asio::buffer(k_crlf)});
    } else {
      sent = co_await send_all({asio::buffer(bytes), {}, {}});
    }
    if (!sent) co_return false;
    body_sent += bytes.size();
  }
}

template <class Stream>
asio::awaitable<core::BodyPiece> BasicHttpSession<Stream>::read_body_piece(RequestParser& parser) {
  std::string& piece = parser.request().body;  // where the parser puts the body's bytes
  piece.clear();
  if (parser.is_done()) {
    body_pending_ = false;
    co_return std::string_view{};
  }
  // body_timeout bounds each read of a streamed body, as nginx's client_body_timeout does.
  arm(context_.limits.body_timeout);
  boost::system::error_code ec = parse_buffered(parser, buffer_, ParseUntil::message);
  while (!ec && piece.empty() && !parser.is_done()) {
    auto [read_ec, n] = co_await http::async_read_some(stream_, buffer_, parser, k_nothrow);
    ec = read_ec;
  }
  disarm();
  if (ec) {
    body_pending_ = false;
    if (timed_out()) co_return core::unexpected(core::BodyError::timed_out);
    if (ec == http::error::body_limit) co_return core::unexpected(core::BodyError::too_large);
    if (ec == http::error::header_limit) {
      co_return core::unexpected(core::BodyError::fields_too_large);
    }
    co_return core::unexpected(core::BodyError::cut_short);
  }
  if (parser.is_done()) body_pending_ = false;
  co_return std::string_view(piece);
}

template <class Stream>
asio::awaitable<void> BasicHttpSession<Stream>::lingering_close() {
  // Closing with unread request bytes makes the kernel send RST, which can destroy the error
  // response before the client reads it; half-close and drain briefly first (nginx's
  // lingering_close). Over TLS the close_notify goes first, and what is drained are records.
  if constexpr (k_tls) co_await send_close_notify();
  boost::system::error_code ignored;
  socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  std::size_t discarded = 0;
  std::array<char, 4096> sink{};
  arm(k_linger_time);
  while (discarded < k_linger_bytes) {
    auto [ec, n] = co_await socket().async_read_some(asio::buffer(sink), k_nothrow);
    if (ec) break;
    discarded += n;
  }
  disarm();
}

template <class Stream>
asio::awaitable<void> BasicHttpSession<Stream>::reject(RejectReason reason, int status,
                                                       std::string_view message) {
  count_reject(reason);
  static core::LogThrottle throttle(k_log_lines_per_second);
  if (auto suppressed = throttle.admit()) {
    spdlog::info("refused a request from {}: {} {}{}", client_address_, status, message,
                 *suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", *suppressed)
                                 : std::string{});
  }
  auto response = core::Response::text(status, message);
  std::size_t body_sent = 0;
  if (co_await write(response, false, false, 11, body_sent)) co_await lingering_close();
}

template <class Stream>
asio::awaitable<void> BasicHttpSession<Stream>::run() {
  // The coroutine frame owns the session: it lives exactly as long as the connection.
  auto self = this->shared_from_this();
  // A cancelled request (its client gone) sees operation_aborted from what it waited on and
  // answers with that; nothing on this connection throws for it.
  co_await asio::this_coro::throw_if_cancelled(false);
  bool first_request = true;
  // Each request is served by its own coroutine so that an idle connection keeps only this
  // small frame, not the parser, request and response of the last exchange.
  while (co_await wait_for_bytes(first_request)) {
    first_request = false;
    if (!co_await serve_one()) break;
  }

  co_await close();
}

template <class Stream>
asio::awaitable<void> BasicHttpSession<Stream>::close() {
  if constexpr (k_tls) {
    if (!client_gone_) co_await send_close_notify();
  }
  boost::system::error_code ignored;
  socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
}

template <class Stream>
asio::awaitable<void> BasicHttpSession<Stream>::send_close_notify() {
  // Sends levee's close_notify without waiting for the client's (as nginx does): marking the
  // client's as received makes the shutdown complete once levee's is written.
  if constexpr (k_tls) {
    SSL_set_shutdown(stream_.native_handle(), SSL_RECEIVED_SHUTDOWN);
    arm(k_linger_time);
    (void)co_await stream_.async_shutdown(k_nothrow);
    disarm();
  }
}

template <class Stream>
asio::awaitable<bool> BasicHttpSession<Stream>::serve_one() {
  const auto& limits = context_.limits;
  RequestParser parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
  parser.trailer_limit(limits.max_header_bytes);

  arm(limits.header_timeout);
  boost::system::error_code header_ec = parse_buffered(parser, buffer_, ParseUntil::header);
  if (!header_ec && !parser.is_header_done()) {
    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, parser, k_nothrow);
    header_ec = ec;
  }
  disarm();
  if (header_ec) {
    if (timed_out()) {
      co_await reject(RejectReason::timeout, 408, "request headers not received in time");
    } else if (header_ec == http::error::header_limit ||
               header_ec == http::error::buffer_overflow) {
      co_await reject(RejectReason::header_too_large, 431, "request header fields too large");
    } else if (header_ec == http::error::body_limit) {
      co_await reject(RejectReason::body_too_large, 413, "request body too large");
    } else if (header_ec == http::error::bad_version &&
               names_other_http_version(std::string_view(
                   static_cast<const char*>(buffer_.data().data()), buffer_.size()))) {
      co_await reject(RejectReason::unsupported, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
    } else if (!client_went_away(header_ec)) {
      co_await reject(RejectReason::bad_request, 400, header_ec.message());
    }
    co_return false;
  }

  if (auto problem = check_header(parser); problem.status != 0) {
    co_await reject(problem.reason, problem.status, problem.message);
    co_return false;
  }

  context_.gate.request_started();
  struct RequestScope {
    ConnectionGate& gate;
    ~RequestScope() { gate.request_finished(); }
  } request_scope{context_.gate};

  if (parser.expect_fields() > 0) {
    if (!is_continue_expectation(parser.expect())) {
      co_await reject(RejectReason::unsupported, 417, "unsupported Expect value");
      co_return false;
    }
    if (parser.request().version == 11 && !parser.is_done() && buffer_.size() == 0) {
      static constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";
      arm(k_write_timeout);
      auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(k_continue), k_nothrow);
      disarm();
      if (ec) co_return false;
    }
  }

  // What of the body came with the head is parsed now; the rest is read only as the route
  // forwards it (RequestBody), so that a slow upstream stops the reading of the client.
  std::shared_ptr<RequestBody> body_stream;
  if (!parser.is_done()) {
    arm(limits.body_timeout);
    const boost::system::error_code body_ec = parse_buffered(parser, buffer_, ParseUntil::message);
    disarm();
    if (body_ec) {
      if (body_ec == http::error::body_limit) {
        co_await reject(RejectReason::body_too_large, 413, "request body too large");
      } else if (body_ec == http::error::header_limit) {
        co_await reject(RejectReason::header_too_large, 431, "request trailer fields too large");
      } else {
        co_await reject(RejectReason::bad_request, 400, body_ec.message());
      }
      co_return false;
    }
    if (!parser.is_done()) {
      body_stream = std::make_shared<RequestBody>(*this, parser);
      auto declared = parser.content_length();
      if (declared) body_stream->set_length(*declared);
      body_pending_ = true;
    }
  }
  // Whatever the route did with it, the stream reads this connection no more once answered.
  struct BodyScope {
    std::shared_ptr<RequestBody>& body;
    bool& pending;
    ~BodyScope() {
      if (body) body->detach();
      pending = false;
    }
  } body_scope{body_stream, body_pending_};

  // The request's clock starts once its head (and what came with it) is parsed: its time
  // before that is the client's. One read for the whole accounting of this request until its
  // answer is written.
  core::Phases phases;
  phases.received = core::Clock::now();
  const bool keep_alive_requested = parser.keep_alive();
  core::Request request = std::move(parser.request());
  if (!parser.trailers().empty()) request.trailers = parser.take_trailers();
  request.client_address = client_address_;
  request.received_at = phases.received;
  request.phases = &phases;
  request.client = std::shared_ptr<core::ClientWatch>(this->shared_from_this(), this);
  request.body_stream = body_stream;
  const bool head_request = request.method == "HEAD";
  const unsigned version = request.version;

  // Only the logged fields outlive the move into the pipeline.
  std::string method_for_log;
  std::string target_for_log;
  std::string host_for_log;
  const std::size_t request_bytes = request.body.size();
  if (context_.access_log != nullptr) {
    method_for_log = request.method;
    target_for_log = request.target;
    host_for_log = request.host();
  }

  core::Dispatch dispatch = context_.dispatcher.dispatch(request);
  core::Response response;
  if (dispatch.handler == nullptr) {
    count_reject(RejectReason::no_route);
    response = core::Response::text(
        404, fmt::format("no route for {} {}", request.method, request.path()));
  } else {
    in_route_ = true;
    route_sweeps_ = 0;
    struct RouteScope {
      bool& in_route;
      ~RouteScope() { in_route = false; }
    } route_scope{in_route_};
    try {
      response = co_await dispatch.handler->handle(std::move(request));
      stop_watching();
    } catch (const std::exception& e) {
      // Layers report failures as responses; an exception here is a bug. Answer it and
      // keep the worker alive rather than take every other connection down with it.
      spdlog::error("route {}: unexpected exception: {}", dispatch.route, e.what());
      stop_watching();
      response = core::Response::text(500, "internal error");
      response.close_connection = true;
    }
  }
  if (client_gone_) response.close_connection = true;
  // A body the route did not read to its end leaves this connection out of step: it closes.
  if (body_stream && !parser.is_done()) response.close_connection = true;

  const bool keep_alive =
      keep_alive_requested && !draining_ && !response.close_connection && !context_.gate.draining();
  // A streamed body without a length is delimited by the close for an HTTP/1.0 client.
  const bool close_delimited = !head_request && status_has_body(response.status) &&
                               body_framing(response, version) == BodyFraming::close;
  std::size_t body_sent = 0;
  const bool written =
      co_await write(response, head_request, keep_alive && !close_delimited, version, body_sent);

  const auto answered = core::Clock::now();
  // A streamed upstream body was pulled as it was written: its span ends with the last write.
  if (phases.upstream_open_since != core::Clock::time_point{}) {
    phases.upstream += answered - phases.upstream_open_since;
  }
  const core::PhaseBreakdown breakdown = phases.breakdown(answered);
  if (phases.sink != nullptr) phases.sink->record(breakdown);
  if (context_.access_log != nullptr) {
    context_.access_log->record(AccessRecord{
        client_address_, method_for_log, target_for_log, host_for_log, dispatch.route,
        response.status, body_sent, request_bytes, core::seconds_between(phases.received, answered),
        phases.sink != nullptr ? &breakdown : nullptr});
  }
  co_return written&& keep_alive && !close_delimited;
}

template class BasicHttpSession<asio::ip::tcp::socket>;
template class BasicHttpSession<TlsStream>;

}  // namespace levee::server
