#include "server/h2_session.hpp"

#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "admin/metrics.hpp"
#include "core/log_throttle.hpp"
#include "server/access_log.hpp"
#include "server/h2_stream.hpp"
#include "server/response_writer.hpp"

namespace levee::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto k_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t k_read_chunk = 16 * 1024;
// What one write hands the socket at most: frames are gathered up to it.
constexpr std::size_t k_write_batch = 64 * 1024;
constexpr auto k_write_timeout = std::chrono::seconds(30);
// nghttp2 queues an acknowledgement for every PING and SETTINGS; a client that sends them
// faster than it reads the answers fills this queue, and nghttp2 reports a flood. levee's own
// budget (k_control_frames_*) ends such a connection first, with a GOAWAY it can still send;
// this is the backstop, above what one read can queue past that budget.
constexpr std::size_t k_max_outbound_acks = 10'000;
// PING and SETTINGS frames a client may send: a burst, then so many a second. Clients send a
// handful (keepalives, gRPC's bandwidth probes); a flood sends them by the hundred thousand.
constexpr double k_control_frames_burst = 1000;
constexpr double k_control_frames_per_second = 100;
// After a GOAWAY for misbehaviour levee reads and drops what the client still sends while the
// GOAWAY is written, then sends FIN (so that closing does not reset the connection before the
// client reads the GOAWAY): nginx's lingering close, with its lingering_time and
// lingering_timeout, and a cap on the bytes dropped.
constexpr auto k_linger_time = std::chrono::seconds(30);
constexpr auto k_linger_silence = std::chrono::seconds(5);
constexpr std::size_t k_linger_bytes = 64 * 1024 * 1024;
// More entries in one SETTINGS frame than the RFC defines is a client probing levee.
constexpr std::size_t k_max_settings_entries = 32;
constexpr std::uint32_t k_log_lines_per_second = 10;
// CONTINUATION frames after one HEADERS frame (CVE-2024-28182): a header block that needs
// more than this is not one levee would accept under max_header_bytes anyway.
constexpr std::size_t k_max_continuations = 8;
// Body bytes dropped after a 413 before the stream is reset.
constexpr std::size_t k_discard_allowance = 1024 * 1024;

tcp::socket& lowest(tcp::socket& socket) { return socket; }
tcp::socket& lowest(std::unique_ptr<TlsStream>& stream) { return stream->next_layer(); }
tcp::socket& io(tcp::socket& socket) { return socket; }
TlsStream& io(std::unique_ptr<TlsStream>& stream) { return *stream; }

std::string remote_address(tcp::socket& socket) {
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string{} : endpoint.address().to_string();
}

void count(admin::Counter* counter) {
  if (counter != nullptr) counter->inc();
}

std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// So many events a second after a burst; spend() is false once the budget is gone.
class TokenBucket {
 public:
  TokenBucket(double burst, double per_second)
      : burst_(burst), per_second_(per_second), tokens_(burst), refilled_(core::Clock::now()) {}

  bool spend() {
    const auto now = core::Clock::now();
    const double seconds = std::chrono::duration<double>(now - refilled_).count();
    refilled_ = now;
    tokens_ = std::min(burst_, tokens_ + seconds * per_second_) - 1.0;
    return tokens_ >= 0;
  }

 private:
  double burst_;
  double per_second_;
  double tokens_;
  core::Clock::time_point refilled_;
};

}  // namespace

template <class Transport>
class H2Session final : public std::enable_shared_from_this<H2Session<Transport>>,
                        public TrackedSession {
 public:
  H2Session(Transport transport, SessionContext& context)
      : transport_(std::move(transport)),
        context_(context),
        http2_(context.limits.http2),
        client_address_(remote_address(lowest(transport_))),
        write_signal_(lowest(transport_).get_executor()),
        last_frame_(core::Clock::now()),
        resets_(2.0 * http2_.max_resets_per_second, http2_.max_resets_per_second),
        control_frames_(k_control_frames_burst, k_control_frames_per_second) {
    context_.sessions.add(this);
    if (metrics() != nullptr) {
      metrics()->open_connections->inc();
      count(metrics()->http2.connections);
    }
    write_signal_.expires_at(asio::steady_timer::time_point::max());
  }

  ~H2Session() {
    if (session_ != nullptr) nghttp2_session_del(session_);
    context_.sessions.remove(this);
    if (metrics() != nullptr) metrics()->open_connections->dec();
    if (context_.count_connection) context_.gate.leave();
  }

  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  asio::awaitable<void> run() {
    auto self = this->shared_from_this();
    if (!open_session()) {
      close_transport();
      co_return;
    }
    signal_write();
    asio::co_spawn(lowest(transport_).get_executor(), write_loop(), asio::detached);
    co_await read_loop();
    reading_done_ = true;
    // The client is gone (or broke the protocol): what its streams wait on ends now, as when
    // an HTTP/1.1 client leaves.
    for (auto& [id, stream] : streams_) {
      if (stream->in_route) stream->client_left();
    }
    signal_write();
    // The writer flushes what nghttp2 still has (a GOAWAY, the last answers) and closes.
    while (!writer_done_) {
      asio::steady_timer wait(lowest(transport_).get_executor());
      writer_exit_ = &wait;
      wait.expires_at(asio::steady_timer::time_point::max());
      (void)co_await wait.async_wait(k_nothrow);
      writer_exit_ = nullptr;
    }
    end_all_streams();
    close_transport();
  }

  void drain() override {
    if (draining_ || session_ == nullptr) return;
    draining_ = true;
    // Streams the client opened up to now are answered; later ones are refused.
    graceful_goaway(GoawayReason::drain);
  }

  void expire_if_due(core::Clock::time_point now) override {
    if (closed_ || session_ == nullptr) return;
    if (close_after_flush_) {
      // Lingering: over when the client closes, stays silent, or the time is up.
      if (now > linger_until_ || now - last_frame_ > k_linger_silence) close_transport();
      return;
    }
    if (writing_ && now - write_started_ > k_write_timeout) {
      close_transport();
      return;
    }
    if (streams_.empty()) {
      const auto limit =
          requests_ == 0 ? context_.limits.header_timeout : context_.limits.idle_timeout;
      if (now - last_frame_ > limit) {
        graceful_goaway(GoawayReason::idle);
      }
      return;
    }
    for (auto& [id, stream] : streams_) {
      if (stream->waits_on_client() && now - stream->last_progress > http2_.stream_idle_timeout) {
        stream->last_progress = now;  // reset once
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
        count_reset(StreamResetReason::stalled);
      }
    }
    signal_write();
  }

 private:
  const ServerMetrics* metrics() const noexcept { return context_.metrics; }

  bool open_session() {
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &on_frame_send);
    nghttp2_option* option = nullptr;
    if (nghttp2_option_new(&option) != 0) {
      nghttp2_session_callbacks_del(callbacks);
      return false;
    }
    nghttp2_option_set_max_outbound_ack(option, k_max_outbound_acks);
    nghttp2_option_set_max_settings(option, k_max_settings_entries);
    nghttp2_option_set_max_continuations(option, k_max_continuations);
    // DATA is acknowledged (WINDOW_UPDATE) as it is consumed: at once when a body is held
    // whole (bounded by max_body_bytes) or dropped, when the route reads it when it streams.
    nghttp2_option_set_no_auto_window_update(option, 1);
    // nghttp2's own rapid-reset limiter is the backstop; levee's (spend_reset_token) fires
    // first and also counts the streams levee refuses.
    nghttp2_option_set_stream_reset_rate_limit(option, 4ULL * http2_.max_resets_per_second,
                                               2ULL * http2_.max_resets_per_second);
    const int rv = nghttp2_session_server_new2(&session_, callbacks, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    if (rv != 0) return false;

    const std::array<nghttp2_settings_entry, 3> settings{{
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, http2_.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, http2_.initial_window_bytes},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
         static_cast<std::uint32_t>(context_.limits.max_header_bytes)},
    }};
    if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size()) !=
        0) {
      return false;
    }
    (void)nghttp2_session_set_local_window_size(
        session_, NGHTTP2_FLAG_NONE, 0, static_cast<std::int32_t>(http2_.connection_window_bytes));
    return true;
  }

  // --- the socket ---

  asio::awaitable<void> read_loop() {
    std::array<std::uint8_t, k_read_chunk> buffer{};
    while (!closed_) {
      auto [ec, n] = co_await io(transport_).async_read_some(asio::buffer(buffer), k_nothrow);
      if (ec) break;
      last_frame_ = core::Clock::now();
      if (close_after_flush_) {
        // Lingering: the GOAWAY is on its way; the rest is dropped, within bounds.
        discarded_ += n;
        if (discarded_ > k_linger_bytes) break;
        continue;
      }
      const auto rv = nghttp2_session_mem_recv(session_, buffer.data(), n);
      if (rv < 0) {
        fail(static_cast<int>(rv));
        continue;  // lingering from now on: the GOAWAY goes out, the rest is dropped
      }
      dispatch_streaming_bodies();
      signal_write();
      if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
        break;
      }
    }
  }

  asio::awaitable<void> write_loop() {
    auto self = this->shared_from_this();
    std::string out;
    while (!closed_) {
      out.clear();
      while (out.size() < k_write_batch) {
        const std::uint8_t* data = nullptr;
        const auto n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) {
          fail(static_cast<int>(n));
          break;
        }
        if (n == 0) break;
        out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
      }
      if (!out.empty()) {
        writing_ = true;
        write_started_ = core::Clock::now();
        auto [ec, n] = co_await asio::async_write(io(transport_), asio::buffer(out), k_nothrow);
        writing_ = false;
        if (ec) break;
        continue;
      }
      const bool finished =
          nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0;
      if (finished || close_after_flush_ || (reading_done_ && !has_pending_answers())) break;
      if (write_wanted_) {
        write_wanted_ = false;
        continue;
      }
      (void)co_await write_signal_.async_wait(k_nothrow);
      write_signal_.expires_at(asio::steady_timer::time_point::max());
      write_wanted_ = false;
    }
    writer_done_ = true;
    if (close_after_flush_ && !closed_ && !reading_done_) {
      // The GOAWAY is written: FIN after it, and the reader drops what the client still
      // sends until it closes or the lingering ends (expire_if_due).
      boost::system::error_code ignored;
      lowest(transport_).shutdown(tcp::socket::shutdown_send, ignored);
    } else {
      // The reader may still wait on the client: the connection is over either way.
      close_transport();
    }
    if (writer_exit_ != nullptr) writer_exit_->cancel();
  }

  [[nodiscard]] bool has_pending_answers() const noexcept {
    return std::ranges::any_of(streams_, [](const auto& entry) {
      return entry.second->answer_submitted || entry.second->in_route;
    });
  }

  // From now on nothing more is given to nghttp2: what it has queued (the GOAWAY last) is
  // written while the reader drops the client's bytes.
  void start_lingering() {
    if (close_after_flush_) return;
    close_after_flush_ = true;
    linger_until_ = core::Clock::now() + k_linger_time;
  }

  void signal_write() {
    write_wanted_ = true;
    write_signal_.cancel();
  }

  void close_transport() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    auto& socket = lowest(transport_);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    write_signal_.cancel();
  }

  // A fatal nghttp2 error from the client's bytes or our own submissions.
  void fail(int error) {
    if (error == NGHTTP2_ERR_FLOODED) {
      log_refusal("flood of frames levee must acknowledge (PING/SETTINGS)");
      goaway(NGHTTP2_ENHANCE_YOUR_CALM, GoawayReason::flood);
    } else if (error == NGHTTP2_ERR_BAD_CLIENT_MAGIC) {
      // Not HTTP/2 at all: nothing is owed to the peer.
    } else {
      log_refusal(nghttp2_strerror(error));
      goaway(NGHTTP2_PROTOCOL_ERROR, GoawayReason::protocol_error);
    }
    start_lingering();
    signal_write();
  }

  // Ends the connection now: GOAWAY with an error, and nothing more is read or answered.
  void goaway(std::uint32_t error_code, GoawayReason reason) {
    if (goaway_sent_) return;
    goaway_sent_ = true;
    own_goaway_ = true;
    (void)nghttp2_session_terminate_session(session_, error_code);
    if (metrics() != nullptr) count(metrics()->http2.goaways[static_cast<std::size_t>(reason)]);
    // What the client still sends is read and dropped, never given to nghttp2 again.
    start_lingering();
    signal_write();
  }

  // GOAWAY NO_ERROR: streams up to the last one the client opened are still answered, and the
  // connection ends when they are (nghttp2 then wants neither to read nor to write).
  void graceful_goaway(GoawayReason reason) {
    if (goaway_sent_) return;
    goaway_sent_ = true;
    own_goaway_ = true;
    (void)nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                                nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                                nullptr, 0);
    if (metrics() != nullptr) count(metrics()->http2.goaways[static_cast<std::size_t>(reason)]);
    signal_write();
  }

  void log_refusal(std::string_view why) {
    static core::LogThrottle throttle(k_log_lines_per_second);
    if (auto suppressed = throttle.admit()) {
      spdlog::info("HTTP/2 connection from {} ended: {}{}", client_address_, why,
                   *suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", *suppressed)
                                   : std::string{});
    }
  }

  void count_reset(StreamResetReason reason) {
    if (metrics() != nullptr) count(metrics()->http2.resets[static_cast<std::size_t>(reason)]);
  }

  // One stream reset or refused: a rapid-reset attacker makes many per second (each costs
  // levee a dispatch, the client nothing).
  void spend_reset_token() {
    if (!resets_.spend() && !goaway_sent_) {
      log_refusal("streams reset faster than max_resets_per_second (rapid reset)");
      goaway(NGHTTP2_ENHANCE_YOUR_CALM, GoawayReason::rapid_reset);
    }
  }

  // A PING or SETTINGS levee must acknowledge.
  void spend_control_token() {
    if (!control_frames_.spend() && !goaway_sent_) {
      log_refusal("flood of PING/SETTINGS frames");
      goaway(NGHTTP2_ENHANCE_YOUR_CALM, GoawayReason::flood);
    }
  }

  void end_all_streams() {
    for (auto& [id, stream] : streams_) {
      stream->closed = true;
      stream->body_wake.cancel();
      finish_stream(*stream);
      stream->client_left();
    }
    streams_.clear();
  }

  // --- streams ---

  // Requests whose body began in this read but has not ended go to their routes now, with the
  // body as a stream (RequestBody). One that ended in the same read went whole already; one
  // reset in it never reaches a route.
  void dispatch_streaming_bodies() {
    for (const std::int32_t id : body_pending_) {
      H2Stream* stream = find(id);
      if (stream == nullptr || stream->dispatched || stream->closed || stream->body_complete ||
          stream->body_over_limit) {
        continue;
      }
      stream->body_streamed = true;
      // What came with the head was consumed already; only what follows is owed.
      start_request(*stream);
    }
    body_pending_.clear();  // keeps its capacity for the next read
  }

  // `bytes` of `stream`'s body were read by its route: the client may send that much more.
  void consume_body(const H2Stream& stream, std::size_t bytes) {
    if (bytes == 0 || session_ == nullptr || closed_) return;
    (void)nghttp2_session_consume(session_, stream.id, bytes);
    signal_write();
  }

  static std::optional<std::uint64_t> declared_length(const core::Request& request) {
    const std::string* text = request.headers.find("content-length");
    if (text == nullptr) return std::nullopt;
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc{} || end != text->data() + text->size()) return std::nullopt;
    return value;
  }

  // A request body still arriving when its route started: each read hands over what DATA has
  // come; the bytes are consumed (WINDOW_UPDATE) when the route asks for the next piece.
  // Holds the stream, never the session past its life (a weak reference for the consumption).
  class RequestBody final : public core::BodyStream {
   public:
    RequestBody(std::weak_ptr<H2Session> session, std::shared_ptr<H2Stream> stream,
                std::optional<std::uint64_t> declared)
        : session_(std::move(session)), stream_(std::move(stream)), declared_(declared) {}
    ~RequestBody() override {
      give_back(owed_ + std::exchange(stream_->body_owed, 0));
      stream_->body.clear();
    }
    RequestBody(const RequestBody&) = delete;
    RequestBody& operator=(const RequestBody&) = delete;

    asio::awaitable<core::BodyPiece> read() override {
      give_back(std::exchange(owed_, 0));
      piece_.clear();
      for (;;) {
        H2Stream& stream = *stream_;
        if (stream.body_over_limit) co_return core::unexpected(core::BodyError::too_large);
        if (!stream.body.empty()) {
          piece_.swap(stream.body);
          owed_ = std::exchange(stream.body_owed, 0);
          stream.request_bytes += piece_.size();  // for the access log
          co_return core::BodyPiece(std::string_view(piece_));
        }
        if (stream.body_complete) co_return core::BodyPiece(std::string_view{});
        if (stream.closed) co_return core::unexpected(core::BodyError::cut_short);
        // Waiting on the client: stream_idle_timeout applies from now.
        stream.body_reading = true;
        stream.last_progress = core::Clock::now();
        stream.body_wake.expires_at(asio::steady_timer::time_point::max());
        (void)co_await stream.body_wake.async_wait(asio::as_tuple(asio::use_awaitable));
        stream.body_reading = false;
        if (!stream.body.empty() || stream.body_complete || stream.closed ||
            stream.body_over_limit) {
          continue;
        }
        const auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) {
          co_return core::unexpected(core::BodyError::cancelled);
        }
      }
    }
    [[nodiscard]] std::optional<std::uint64_t> length() const noexcept override {
      return declared_;
    }
    core::Headers take_trailers() override { return stream_->fields.take_trailers(); }

   private:
    void give_back(std::size_t bytes) {
      if (const auto session = session_.lock()) session->consume_body(*stream_, bytes);
    }

    std::weak_ptr<H2Session> session_;
    std::shared_ptr<H2Stream> stream_;
    std::optional<std::uint64_t> declared_;
    std::string piece_;
    std::size_t owed_ = 0;
  };

  H2Stream* find(std::int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  void start_request(H2Stream& stream) {
    if (stream.dispatched) return;
    // The connection is ending for misbehaviour: what nghttp2 still parsed is not served.
    if (close_after_flush_) return;
    stream.dispatched = true;
    stream.last_progress = core::Clock::now();
    ++requests_;
    if (metrics() != nullptr) count(metrics()->http2.streams);
    context_.gate.request_started();
    stream.counted_in_gate = true;
    asio::co_spawn(lowest(transport_).get_executor(), serve(stream.shared_from_this()),
                   asio::bind_cancellation_slot(stream.cancel->slot(),
                                                [cancel = stream.cancel](std::exception_ptr) {}));
  }

  asio::awaitable<void> serve(std::shared_ptr<H2Stream> stream) {
    auto self = this->shared_from_this();
    co_await asio::this_coro::throw_if_cancelled(false);
    if (stream->closed || closed_) {
      // Reset before its turn came (a rapid-reset client's streams end here): no route sees it.
      finish_stream(*stream);
      co_return;
    }
    core::Response response;
    core::Request request;
    stream->phases.received = core::Clock::now();
    if (stream->fields.over_limit()) {
      count_reject(RejectReason::header_too_large);
      response = core::Response::text(431, "request header fields too large");
    } else if (stream->body_over_limit) {
      count_reject(RejectReason::body_too_large);
      response = core::Response::text(413, "request body too large");
    } else {
      stream->fields.finish(request);
      if (stream->body_streamed) {
        request.body_stream =
            std::make_shared<RequestBody>(this->weak_from_this(), stream, declared_length(request));
      } else {
        request.body = std::move(stream->body);
      }
      request.client_address = client_address_;
      request.received_at = stream->phases.received;
      request.phases = &stream->phases;
      request.client = std::shared_ptr<core::ClientWatch>(stream, stream.get());
      stream->request_bytes = request.body.size();
      stream->head_request = request.method == "HEAD";
      if (context_.access_log != nullptr) {
        stream->method_for_log = request.method;
        stream->target_for_log = request.target;
        stream->host_for_log = request.host();
      }
      stream->dispatch = context_.dispatcher.dispatch(request);
      if (stream->dispatch.handler == nullptr) {
        count_reject(RejectReason::no_route);
        response = core::Response::text(
            404, fmt::format("no route for {} {}", request.method, request.path()));
      } else {
        stream->in_route = true;
        try {
          response = co_await stream->dispatch.handler->handle(std::move(request));
        } catch (const std::exception& e) {
          spdlog::error("route {}: unexpected exception: {}", stream->dispatch.route, e.what());
          response = core::Response::text(500, "internal error");
        }
        stream->in_route = false;
        stream->stop_watching();
      }
    }
    if (stream->closed || closed_) {
      finish_stream(*stream);
      co_return;
    }
    co_await answer(stream, std::move(response));
  }

  // Submits the answer's head and makes nghttp2 pull its body; a streamed body is read piece
  // by piece as nghttp2 takes each one (the client's window paces the route's source).
  asio::awaitable<void> answer(std::shared_ptr<H2Stream> stream, core::Response response) {
    const bool head_request = stream->head_request;
    const bool with_body = !head_request && status_has_body(response.status);
    stream->response = std::move(response);
    core::Response& out = stream->response;
    stream->trailers = std::move(out.trailers);
    std::size_t length = 0;
    const std::size_t* declared = nullptr;
    if (!out.stream && !stream->trailers.empty()) {
      // The trailers end the stream, so no length is declared: a peer that stops at
      // content-length (curl 7.88) would otherwise never read them, and a gRPC client needs
      // their grpc-status.
      if (with_body) out.headers.remove("content-length");
    } else if (!out.stream) {
      length = with_body ? out.body_size() : 0;
      if (with_body) declared = &length;
    } else if (auto known = out.stream->length(); known && with_body) {
      length = static_cast<std::size_t>(*known);
      declared = &length;
    } else if (with_body) {
      out.headers.remove("content-length");  // a stream of unknown length: END_STREAM ends it
    }
    const H2FieldBlock head = H2FieldBlock::response(out, declared);
    const bool has_data = with_body && (out.stream || out.body_size() > 0);
    nghttp2_data_provider provider{};
    provider.source.ptr = stream.get();
    provider.read_callback = &read_body;
    stream->answer_submitted = true;
    stream->last_progress = core::Clock::now();
    const bool send_trailers_only = !has_data && !stream->trailers.empty();
    int rv = 0;
    if (has_data || send_trailers_only) {
      // An empty body before trailers still goes through the provider: it ends the DATA with
      // NO_END_STREAM and submits the trailer block.
      rv = nghttp2_submit_response(session_, stream->id, head.data(), head.size(), &provider);
    } else {
      stream->body_ended = true;
      rv = nghttp2_submit_response(session_, stream->id, head.data(), head.size(), nullptr);
    }
    if (rv != 0) {
      finish_stream(*stream);
      co_return;
    }
    signal_write();
    if (!out.stream || !with_body) co_return;

    // The pump: one piece at a time, handed to nghttp2 when it has taken the last.
    core::BodyStream& source = *out.stream;
    while (!stream->closed && !closed_) {
      stream->pump_reading = true;
      core::BodyPiece piece = co_await source.read();
      stream->pump_reading = false;
      if (stream->closed || closed_) break;
      stream->last_progress = core::Clock::now();
      if (!piece) {
        // Never let a body cut short look complete: the stream is reset, not ended.
        stream->body_failed = true;
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream->id, NGHTTP2_INTERNAL_ERROR);
        signal_write();
        break;
      }
      if (piece.value().empty()) {
        stream->body_ended = true;
        auto more = source.take_trailers();
        for (const auto& field : more) stream->trailers.add(field.name, field.value);
        (void)nghttp2_session_resume_data(session_, stream->id);
        signal_write();
        break;
      }
      stream->piece = piece.value();
      (void)nghttp2_session_resume_data(session_, stream->id);
      signal_write();
      // Wait until nghttp2 has taken the whole piece (the read callback wakes us).
      while (!stream->piece.empty() && !stream->closed && !closed_) {
        stream->pump_waiting = true;
        stream->wake.expires_at(asio::steady_timer::time_point::max());
        (void)co_await stream->wake.async_wait(k_nothrow);
        stream->pump_waiting = false;
      }
    }
  }

  static ssize_t read_body(nghttp2_session* session, std::int32_t stream_id, std::uint8_t* buf,
                           std::size_t length, std::uint32_t* flags, nghttp2_data_source* source,
                           void* /*user_data*/) {
    auto& stream = *static_cast<H2Stream*>(source->ptr);
    stream.last_progress = core::Clock::now();
    std::size_t n = 0;
    if (!stream.response.stream) {
      const std::string_view body = stream.response.body_view();
      n = std::min(length, body.size() - std::min(body.size(), stream.body_offset));
      std::copy_n(body.data() + stream.body_offset, n, buf);
      stream.body_offset += n;
      if (stream.body_offset >= body.size()) stream.body_ended = true;
    } else {
      n = std::min(length, stream.piece.size());
      std::copy_n(stream.piece.data(), n, buf);
      stream.piece.remove_prefix(n);
      if (stream.piece.empty() && stream.pump_waiting) stream.wake.cancel();
      if (n == 0 && !stream.body_ended) return NGHTTP2_ERR_DEFERRED;
    }
    stream.body_sent += n;
    if (stream.body_ended && (stream.piece.empty() || !stream.response.stream)) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!stream.trailers.empty()) {
        const H2FieldBlock block = H2FieldBlock::trailers(stream.trailers);
        if (nghttp2_submit_trailer(session, stream_id, block.data(), block.size()) == 0) {
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
      }
    }
    return static_cast<ssize_t>(n);
  }

  // The stream is over for levee: phases, access log, the connection gate.
  void finish_stream(H2Stream& stream) {
    if (stream.logged) return;
    stream.logged = true;
    if (stream.counted_in_gate) context_.gate.request_finished();
    if (!stream.dispatched) return;
    const auto answered = core::Clock::now();
    auto& phases = stream.phases;
    if (phases.upstream_open_since != core::Clock::time_point{}) {
      phases.upstream += answered - phases.upstream_open_since;
    }
    const core::PhaseBreakdown breakdown = phases.breakdown(answered);
    if (phases.sink != nullptr && stream.answer_submitted) phases.sink->record(breakdown);
    if (context_.access_log != nullptr) {
      const int status = stream.answer_submitted && !stream.reset_by_client
                             ? stream.response.status
                             : core::k_client_closed_status;
      context_.access_log->record(
          AccessRecord{client_address_, stream.method_for_log, stream.target_for_log,
                       stream.host_for_log, stream.dispatch.route, status, stream.body_sent,
                       stream.request_bytes, core::seconds_between(phases.received, answered),
                       phases.sink != nullptr ? &breakdown : nullptr});
    }
  }

  void count_reject(RejectReason reason) const {
    if (metrics() == nullptr) return;
    if (auto* counter = metrics()->rejected[static_cast<std::size_t>(reason)]) counter->inc();
  }

  // --- nghttp2 callbacks (run inside mem_recv / mem_send, on the worker) ---

  static int on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame,
                              void* user_data) {
    auto& self = *static_cast<H2Session*>(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
      return 0;
    }
    const std::int32_t id = frame->hd.stream_id;
    auto stream = std::make_shared<H2Stream>(id, self.context_.limits.max_header_bytes,
                                             lowest(self.transport_).get_executor());
    nghttp2_session_set_stream_user_data(session, id, stream.get());
    self.streams_.emplace(id, std::move(stream));
    return 0;
  }

  static int on_header(nghttp2_session* session, const nghttp2_frame* frame,
                       const std::uint8_t* name, std::size_t name_length, const std::uint8_t* value,
                       std::size_t value_length, std::uint8_t flags, void* user_data) {
    auto& self = *static_cast<H2Session*>(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    H2Stream* stream = self.find(frame->hd.stream_id);
    if (stream == nullptr) return 0;
    stream->last_progress = core::Clock::now();
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      stream->fields.add(as_view(name, name_length), as_view(value, value_length));
    } else {
      stream->fields.add_trailer(as_view(name, name_length), as_view(value, value_length));
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session* session, std::uint8_t flags, std::int32_t stream_id,
                           const std::uint8_t* data, std::size_t length, void* user_data) {
    auto& self = *static_cast<H2Session*>(user_data);
    H2Stream* stream = self.find(stream_id);
    if (stream != nullptr && stream->body_streamed && !stream->body_over_limit &&
        stream->body_received + length <= self.context_.limits.max_body_bytes) {
      // Consumed when the route reads it (RequestBody): the window paces the client.
      stream->last_progress = core::Clock::now();
      stream->body_received += length;
      stream->body.append(reinterpret_cast<const char*>(data), length);
      stream->body_owed += length;
      stream->body_wake.cancel();
      return 0;
    }
    // Held whole (bounded by max_body_bytes), or dropped: consumed at once.
    (void)nghttp2_session_consume(session, stream_id, length);
    if (stream == nullptr) return 0;
    stream->last_progress = core::Clock::now();
    if (stream->body_over_limit) {
      // The 413 is answered; what the client still sends is dropped, up to an allowance that
      // lets an ordinary client finish its upload and read the answer (a reset mid-upload
      // makes some clients report an error instead of the 413). Past it, the stream is reset.
      stream->discarded += length;
      if (stream->discarded > k_discard_allowance && !stream->reset_sent) {
        stream->reset_sent = true;
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
      }
      return 0;
    }
    if (stream->body_received + length > self.context_.limits.max_body_bytes) {
      stream->body_over_limit = true;
      stream->body.clear();
      stream->body.shrink_to_fit();
      if (stream->body_streamed) {
        stream->body_wake.cancel();  // its route reads too_large
      } else {
        self.start_request(*stream);  // answered 413 now, before the rest of the body
      }
      return 0;
    }
    stream->body_received += length;
    stream->body.append(reinterpret_cast<const char*>(data), length);
    return 0;
  }

  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    auto& self = *static_cast<H2Session*>(user_data);
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
      case NGHTTP2_DATA:
        if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
          if (H2Stream* stream = self.find(frame->hd.stream_id)) {
            stream->body_complete = true;
            stream->body_wake.cancel();
            self.start_request(*stream);
          }
        } else if (frame->hd.type == NGHTTP2_HEADERS &&
                   frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
          // A body follows: if it has not ended by the end of this read, the request goes to
          // its route now and the body streams (dispatch_streaming_bodies).
          self.body_pending_.push_back(frame->hd.stream_id);
        }
        break;
      case NGHTTP2_RST_STREAM:
        if (self.metrics() != nullptr) count(self.metrics()->http2.client_resets);
        if (H2Stream* stream = self.find(frame->hd.stream_id)) stream->reset_by_client = true;
        self.spend_reset_token();
        break;
      case NGHTTP2_PING:
      case NGHTTP2_SETTINGS:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) self.spend_control_token();
        break;
      default:
        break;
    }
    return 0;
  }

  static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    auto& self = *static_cast<H2Session*>(user_data);
    if (frame->hd.type == NGHTTP2_RST_STREAM &&
        frame->rst_stream.error_code == NGHTTP2_REFUSED_STREAM) {
      self.count_reset(StreamResetReason::refused);
      self.spend_reset_token();
    } else if (frame->hd.type == NGHTTP2_GOAWAY && !self.own_goaway_) {
      // nghttp2 ended the connection itself over a protocol error in the client's frames.
      self.own_goaway_ = true;
      self.goaway_sent_ = true;
      if (self.metrics() != nullptr) {
        count(
            self.metrics()->http2.goaways[static_cast<std::size_t>(GoawayReason::protocol_error)]);
      }
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session* session, std::int32_t stream_id,
                             std::uint32_t error_code, void* user_data) {
    auto& self = *static_cast<H2Session*>(user_data);
    auto it = self.streams_.find(stream_id);
    if (it == self.streams_.end()) return 0;
    std::shared_ptr<H2Stream> stream = std::move(it->second);
    self.streams_.erase(it);
    stream->closed = true;
    stream->body_wake.cancel();  // a route reading its body learns it was cut short
    if (stream->pump_waiting) stream->wake.cancel();
    // A pump waiting for the route's next piece stops reading it: nobody will take it.
    if (stream->pump_reading) stream->cancel->emit(asio::cancellation_type::terminal);
    if (stream->in_route) {
      // The client reset it (or the connection ended) while the route worked on it: whatever
      // the request waits on ends now, as when an HTTP/1.1 client leaves.
      stream->reset_by_client = true;
      stream->client_left();
      return 0;  // serve() finishes the stream when the route returns
    }
    self.finish_stream(*stream);
    return 0;
  }

  Transport transport_;
  SessionContext context_;  // a copy: the listener may be gone before a session at a forced stop
  const config::Http2Config& http2_;
  std::string client_address_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, std::shared_ptr<H2Stream>> streams_;
  std::vector<std::int32_t> body_pending_;  // request heads whose body followed, this read
  asio::steady_timer write_signal_;
  asio::steady_timer* writer_exit_ = nullptr;
  bool write_wanted_ = false;
  bool writing_ = false;
  bool writer_done_ = false;
  bool reading_done_ = false;
  bool closed_ = false;
  bool draining_ = false;
  bool goaway_sent_ = false;
  bool own_goaway_ = false;
  bool close_after_flush_ = false;
  core::Clock::time_point write_started_{};
  core::Clock::time_point last_frame_;
  std::uint64_t requests_ = 0;
  TokenBucket resets_;
  TokenBucket control_frames_;
  core::Clock::time_point linger_until_ = core::Clock::time_point::max();
  std::size_t discarded_ = 0;
};

namespace {

template <class Transport>
void spawn(Transport transport, SessionContext& context) {
  auto executor = lowest(transport).get_executor();
  auto session = std::make_shared<H2Session<Transport>>(std::move(transport), context);
  // The lambda's copy of `session` lives in the coroutine's frame: the session is owned from
  // the moment it is spawned, even when the coroutine starts later (spawned from outside the
  // io_context's thread).
  asio::co_spawn(executor, [session]() { return session->run(); }, asio::detached);
}

}  // namespace

void start_http2_session(tcp::socket socket, SessionContext& context) {
  spawn(std::move(socket), context);
}

void start_http2_session(std::unique_ptr<TlsStream> stream, SessionContext& context) {
  spawn(std::move(stream), context);
}

}  // namespace levee::server
