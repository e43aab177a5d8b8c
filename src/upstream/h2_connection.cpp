#include "upstream/h2_connection.hpp"

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <utility>

#include "admin/metrics.hpp"
#include "upstream/tls_handshake.hpp"

namespace levee::upstream {

namespace asio = boost::asio;

namespace {

// Per stream and per connection, what the upstream may send before levee reads it: an
// answer up to this size needs no WINDOW_UPDATE round trip.
constexpr std::int32_t k_stream_window = 1 << 20;
constexpr std::int32_t k_connection_window = 16 << 20;
constexpr std::size_t k_read_size = 16 * 1024;
constexpr std::uint32_t k_assumed_stream_limit = 100;
// mem_send output gathered into one write.
constexpr std::size_t k_write_batch = 64 * 1024;

H2Stream* stream_of(nghttp2_session* session, std::int32_t id) {
  return static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(session, id));
}

ssize_t read_request_body(nghttp2_session*, std::int32_t, std::uint8_t* buffer, std::size_t length,
                          std::uint32_t* flags, nghttp2_data_source* source, void*) {
  auto* stream = static_cast<H2Stream*>(source->ptr);
  if (stream->body_streamed) {
    const std::size_t n = std::min(length, stream->body_piece.size());
    if (n > 0) {  // an empty view's data() may be null, which memcpy must not get
      std::memcpy(buffer, stream->body_piece.data(), n);
      stream->body_piece.remove_prefix(n);
      if (stream->body_piece.empty()) stream->body_wake.cancel();  // the pump reads on
      return static_cast<ssize_t>(n);
    }
    if (stream->body_source_ended) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return 0;
    }
    stream->body_deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  const std::string& body = *stream->body;
  const std::size_t n = std::min(length, body.size() - stream->body_sent);
  std::memcpy(buffer, body.data() + stream->body_sent, n);
  stream->body_sent += n;
  if (stream->body_sent == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

}  // namespace

// nghttp2's callbacks: user_data is the H2Connection. They run inside mem_recv / mem_send
// on the worker's thread; they never resume a coroutine inline (waking is a timer cancel,
// whose completion is posted), so nothing re-enters nghttp2.
struct H2Callbacks {
  static H2Connection& of(void* user_data) { return *static_cast<H2Connection*>(user_data); }

  static int on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    if (H2Stream* stream = stream_of(session, frame->hd.stream_id)) stream->response.begin_block();
    return 0;
  }

  static int on_header(nghttp2_session* session, const nghttp2_frame* frame,
                       const std::uint8_t* name, std::size_t name_length, const std::uint8_t* value,
                       std::size_t value_length, std::uint8_t, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    H2Stream* stream = stream_of(session, frame->hd.stream_id);
    if (stream == nullptr || stream->error) return 0;
    const std::string_view n(reinterpret_cast<const char*>(name), name_length);
    const std::string_view v(reinterpret_cast<const char*>(value), value_length);
    if (!stream->response.field(n, v)) {
      stream->error = UpstreamError{UpstreamErrorKind::invalid_response,
                                    "HTTP/2 field " + std::string(n) + " not allowed here"};
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    H2Connection& connection = of(user);
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        H2Stream* stream = stream_of(session, frame->hd.stream_id);
        if (stream == nullptr || stream->error) break;
        if (!stream->response.end_block()) {
          stream->error = UpstreamError{UpstreamErrorKind::invalid_response, "no :status"};
          nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                    NGHTTP2_PROTOCOL_ERROR);
        }
        break;
      }
      case NGHTTP2_SETTINGS:
        connection.changed();
        break;
      case NGHTTP2_GOAWAY:
        // Streams above last_stream_id are closed by nghttp2 as refused (on_stream_close);
        // those below it finish here, and the connection takes no new one.
        if (connection.transport_ && connection.transport_->metrics.h2_goaways != nullptr) {
          connection.transport_->metrics.h2_goaways->inc();
        }
        spdlog::debug("upstream \"{}\": GOAWAY (last stream {}, error {})", connection.config_.name,
                      frame->goaway.last_stream_id,
                      nghttp2_http2_strerror(frame->goaway.error_code));
        connection.retire();
        // With nothing in flight (streams above last_stream_id are closed after this
        // callback, each through on_stream_close) nothing more will come on it.
        if (connection.streams_.empty()) connection.close();
        break;
      default:
        break;
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                           const std::uint8_t* data, std::size_t length, void*) {
    H2Stream* stream = stream_of(session, stream_id);
    if (stream != nullptr && !stream->error && stream->streaming) {
      // Consumed when the reader takes it (H2Body): the window paces the upstream.
      stream->pending.append(reinterpret_cast<const char*>(data), length);
      stream->pending_owed += length;
      stream->wake.cancel();
      return 0;
    }
    // Held whole (bounded by max_response_bytes), or dropped: consumed at once.
    (void)nghttp2_session_consume(session, stream_id, length);
    if (stream == nullptr || stream->error) return 0;
    if (!stream->response.data({reinterpret_cast<const char*>(data), length})) {
      stream->error = UpstreamError{UpstreamErrorKind::response_too_large, {}};
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
      return 0;
    }
    // The body has begun: if the stream has not ended by the time its caller resumes (the
    // wake-up is posted, so after this read's frames), the caller streams the rest.
    stream->body_begun = true;
    stream->wake.cancel();
    return 0;
  }

  static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    if (H2Stream* stream = stream_of(session, frame->hd.stream_id)) stream->headers_sent = true;
    return 0;
  }

  static int on_stream_close(nghttp2_session* session, std::int32_t stream_id,
                             std::uint32_t error_code, void* user) {
    H2Connection& connection = of(user);
    auto it = connection.streams_.find(stream_id);
    if (it == connection.streams_.end()) return 0;
    std::shared_ptr<H2Stream> stream = std::move(it->second);
    connection.streams_.erase(it);
    if (!stream->error) {
      if (error_code == NGHTTP2_REFUSED_STREAM) {
        stream->refused = true;
        stream->error = UpstreamError{UpstreamErrorKind::reset, "HTTP/2 stream refused"};
      } else if (error_code != NGHTTP2_NO_ERROR) {
        stream->error =
            UpstreamError{UpstreamErrorKind::reset, std::string("HTTP/2 stream reset: ") +
                                                        nghttp2_http2_strerror(error_code)};
      } else if (!stream->response.has_final_head()) {
        stream->error = UpstreamError{UpstreamErrorKind::invalid_response, "no final answer"};
      }
    }
    (void)session;
    connection.finish(*stream);
    return 0;
  }
};

H2Connection::H2Connection(asio::any_io_executor executor, const config::UpstreamConfig& config,
                           const std::vector<asio::ip::tcp::endpoint>& endpoints,
                           TransportPtr transport, std::function<void()> on_change)
    : executor_(std::move(executor)),
      config_(config),
      endpoints_(endpoints),
      transport_(std::move(transport)),
      on_change_(std::move(on_change)),
      socket_(executor_),
      stream_(socket_),
      connect_deadline_(executor_),
      idle_timer_(executor_) {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, H2Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, H2Callbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, H2Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, H2Callbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, H2Callbacks::on_frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, H2Callbacks::on_stream_close);
  // Until the peer's SETTINGS arrive nghttp2 would assume no stream limit at all; assume
  // RFC 9113's recommended minimum instead, so that a burst before them spreads over
  // connections as it would after.
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_peer_max_concurrent_streams(option, k_assumed_stream_limit);
  // DATA is acknowledged (WINDOW_UPDATE) as it is consumed: at once when an answer is held
  // whole, when its reader takes it when it is streamed.
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_session_client_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  // The client's SETTINGS go first (nghttp2 sends the preface before them): no server push,
  // and windows that let a typical answer arrive without a WINDOW_UPDATE round trip.
  const std::array<nghttp2_settings_entry, 2> settings{{
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(k_stream_window)},
  }};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, k_connection_window);
  if (transport_ && transport_->metrics.h2_connections != nullptr) {
    transport_->metrics.h2_connections->inc();
    counted_ = true;
  }
}

H2Connection::~H2Connection() {
  // No callback runs from here on: nghttp2_session_del calls none.
  nghttp2_session_del(session_);
  if (counted_) transport_->metrics.h2_connections->dec();
  if (transport_ && transport_->metrics.h2_streams != nullptr && !streams_.empty()) {
    transport_->metrics.h2_streams->sub(static_cast<std::int64_t>(streams_.size()));
  }
}

void H2Connection::start() {
  // The coroutine's frame holds the connection until the connection's reading ends.
  asio::co_spawn(executor_, run(shared_from_this()), asio::detached);
}

std::size_t H2Connection::stream_limit() const noexcept {
  return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

bool H2Connection::takes_streams() const noexcept {
  return !retiring_ && !closed_ && streams_.size() < stream_limit();
}

bool H2Connection::submit(const std::shared_ptr<H2Stream>& stream,
                          const std::vector<core::Header>& fields) {
  if (retiring_ || closed_) return false;
  std::vector<nghttp2_nv> nv;
  nv.reserve(fields.size());
  for (const auto& field : fields) {
    // NGHTTP2_NV_FLAG_NONE: nghttp2 copies names and values.
    nv.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(field.name.data())),
                  reinterpret_cast<std::uint8_t*>(const_cast<char*>(field.value.data())),
                  field.name.size(), field.value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  nghttp2_data_provider provider{};
  provider.source.ptr = stream.get();
  provider.read_callback = read_request_body;
  const bool has_body = stream->body_streamed || (stream->body && !stream->body->empty());
  const std::int32_t id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(),
                                                 has_body ? &provider : nullptr, stream.get());
  if (id < 0) return false;
  stream->id = id;
  streams_.emplace(id, stream);
  if (transport_ && transport_->metrics.h2_streams != nullptr)
    transport_->metrics.h2_streams->inc();
  idle_timer_.cancel();
  flush();
  return true;
}

void H2Connection::abandon(H2Stream& stream) {
  if (stream.done || closed_ || stream.id < 0) return;
  if (!stream.error) stream.error = UpstreamError{UpstreamErrorKind::timeout, {}};
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, NGHTTP2_CANCEL);
  flush();
}

void H2Connection::resume_body(H2Stream& stream) {
  if (closed_ || stream.done || !std::exchange(stream.body_deferred, false)) return;
  (void)nghttp2_session_resume_data(session_, stream.id);
  flush();
}

void H2Connection::consume(const H2Stream& stream, std::size_t bytes) {
  if (closed_ || bytes == 0 || stream.id < 0) return;
  // The connection's share is counted even when the stream has closed meanwhile.
  (void)nghttp2_session_consume(session_, stream.id, bytes);
  flush();
}

void H2Connection::finish(H2Stream& stream) {
  stream.done = true;
  stream.wake.cancel();
  stream.body_wake.cancel();
  if (transport_ && transport_->metrics.h2_streams != nullptr)
    transport_->metrics.h2_streams->dec();
  if (streams_.empty()) {
    if (retiring_) {
      // Every stream the GOAWAY let finish has: nothing more will come on it.
      close();
      return;
    }
    arm_idle_timer();
  }
  changed();
}

void H2Connection::changed() {
  if (on_change_) on_change_();
}

void H2Connection::retire() {
  if (retiring_) return;
  retiring_ = true;
  changed();
}

void H2Connection::arm_idle_timer() {
  if (closed_ || retiring_) return;
  idle_timer_.expires_after(config_.idle_timeout);
  // The handler holds only a weak reference: an idle connection is not kept alive by it.
  idle_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->closed_ || !self->streams_.empty()) return;
    // Retired without closing: the GOAWAY is sent, then it closes (want_write and
    // want_read both end).
    self->retiring_ = true;
    self->changed();
    nghttp2_session_terminate_session(self->session_, NGHTTP2_NO_ERROR);  // a GOAWAY
    self->flush();
  });
}

void H2Connection::flush() {
  if (!up_ || closed_ || writing_ || in_nghttp2_) return;
  out_.clear();
  ssize_t n = 0;
  in_nghttp2_ = true;
  while (out_.size() < k_write_batch) {
    const std::uint8_t* data = nullptr;
    n = nghttp2_session_mem_send(session_, &data);
    if (n <= 0) break;
    out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  in_nghttp2_ = false;
  if (closed_) return;  // a callback closed it (the last stream of a retired connection)
  if (n < 0) {
    fail(UpstreamError{UpstreamErrorKind::invalid_response, nghttp2_strerror(static_cast<int>(n))},
         false);
    return;
  }
  if (out_.empty()) {
    // Both sides are done (our GOAWAY went out and nothing is open).
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
      close();
    }
    return;
  }
  writing_ = true;
  // A plain socket sends at once, inside this call (Asio writes speculatively), and TLS
  // encrypts and sends inside it too; only the completion is posted. It holds the connection
  // until it has run.
  asio::async_write(stream_, asio::buffer(out_),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (self->closed_) return;
                      if (ec) {
                        self->fail(UpstreamError{UpstreamErrorKind::reset, ec.message()}, false);
                        return;
                      }
                      self->flush();  // what was queued meanwhile
                    });
}

void H2Connection::fail(const UpstreamError& error, bool connect_failure) {
  if (closed_) return;
  closed_ = true;
  retiring_ = true;
  if (std::exchange(counted_, false)) transport_->metrics.h2_connections->dec();
  boost::system::error_code ignored;
  socket_.close(ignored);
  connect_deadline_.cancel();
  idle_timer_.cancel();
  auto open = std::move(streams_);
  streams_.clear();
  for (auto& [id, stream] : open) {
    if (!stream->error) stream->error = error;
    stream->connect_failed = connect_failure;
    stream->done = true;
    stream->wake.cancel();
    stream->body_wake.cancel();
  }
  if (transport_ && transport_->metrics.h2_streams != nullptr && !open.empty()) {
    transport_->metrics.h2_streams->sub(static_cast<std::int64_t>(open.size()));
  }
  changed();
}

void H2Connection::close() {
  fail(UpstreamError{UpstreamErrorKind::reset, "connection closed"}, false);
}

asio::awaitable<std::optional<UpstreamError>> H2Connection::connect() {
  connect_deadline_.expires_after(config_.connect_timeout);
  connect_deadline_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->up_) return;
    self->connect_timed_out_ = true;
    boost::system::error_code ignored;
    self->socket_.cancel(ignored);
  });
  auto [ec, endpoint] =
      co_await asio::async_connect(socket_, endpoints_, asio::as_tuple(asio::use_awaitable));
  if (ec) {
    if (connect_timed_out_) co_return UpstreamError{UpstreamErrorKind::connect_timeout, {}};
    if (ec == asio::error::connection_refused) {
      co_return UpstreamError{UpstreamErrorKind::connect_refused, {}};
    }
    co_return UpstreamError{UpstreamErrorKind::connect_failed, ec.message()};
  }
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  if (transport_ && transport_->tls) {
    if (auto failed = co_await tls_handshake(stream_, *transport_, config_, connect_timed_out_)) {
      co_return failed;
    }
    const unsigned char* alpn = nullptr;
    unsigned int alpn_length = 0;
    SSL_get0_alpn_selected(stream_.tls()->native_handle(), &alpn, &alpn_length);
    if (std::string_view(reinterpret_cast<const char*>(alpn), alpn_length) != "h2") {
      const std::string reason =
          alpn_length == 0 ? "the server selected no protocol in ALPN (h2 required)"
                           : "the server selected \"" +
                                 std::string(reinterpret_cast<const char*>(alpn), alpn_length) +
                                 "\" in ALPN, not h2";
      report_tls_failure(*transport_, config_, reason);
      co_return UpstreamError{UpstreamErrorKind::connect_failed, reason};
    }
  }
  co_return std::nullopt;
}

asio::awaitable<void> H2Connection::run(std::shared_ptr<H2Connection> self) {
  if (auto failed = co_await self->connect()) {
    self->fail(*failed, true);
    co_return;
  }
  self->connect_deadline_.cancel();
  if (self->closed_) co_return;
  self->up_ = true;
  self->flush();  // the preface, SETTINGS and whatever was submitted while connecting
  if (self->streams_.empty()) self->arm_idle_timer();
  std::array<std::uint8_t, k_read_size> buffer{};
  while (!self->closed_) {
    auto [ec, n] = co_await self->stream_.async_read_some(asio::buffer(buffer),
                                                          asio::as_tuple(asio::use_awaitable));
    if (self->closed_) break;
    if (ec) {
      self->fail(UpstreamError{UpstreamErrorKind::reset, ec.message()}, false);
      break;
    }
    const ssize_t used = nghttp2_session_mem_recv(self->session_, buffer.data(), n);
    if (used < 0) {
      self->fail(UpstreamError{UpstreamErrorKind::invalid_response,
                               nghttp2_strerror(static_cast<int>(used))},
                 false);
      break;
    }
    self->flush();
  }
}

}  // namespace levee::upstream
