#include "server/connection_start.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "admin/metrics.hpp"
#include "core/clock.hpp"
#include "core/log_throttle.hpp"
#include "server/first_bytes.hpp"
#include "server/h2_session.hpp"
#include "server/session_set.hpp"
#include "server/tls_context.hpp"

namespace levee::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint32_t k_log_lines_per_second = 10;

// What the socket holds so far, without reading it; nullopt when the client has closed or the
// connection failed.
std::optional<FirstBytes> peek_first_bytes(tcp::socket& socket) {
  std::array<char, k_first_bytes_needed> bytes{};
  const ssize_t n =
      ::recv(socket.native_handle(), bytes.data(), bytes.size(), MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return classify_first_bytes(std::string_view(bytes.data(), static_cast<size_t>(n)));
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    return FirstBytes::undecided;
  }
  return std::nullopt;
}

template <class Stream>
void start_http1_session(Stream stream, SessionContext& context) {
  auto executor = stream.get_executor();
  auto session = std::make_shared<BasicHttpSession<Stream>>(std::move(stream), context);
  // The session's run() frame owns the session (see HttpSession).
  // The completion handler keeps the signal alive until co_spawn is done with its slot,
  // which is after the frame (and the session) is gone.
  auto cancel = session->cancellation();
  asio::co_spawn(executor, session->run(),
                 asio::bind_cancellation_slot(cancel->slot(), [cancel](std::exception_ptr) {}));
}

TlsFailure classify_failure(const boost::system::error_code& ec, bool timed_out) {
  if (timed_out) return TlsFailure::timeout;
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
      ec == asio::error::connection_reset || ec == asio::error::broken_pipe) {
    return TlsFailure::closed;
  }
  if (ec.category() == asio::error::get_ssl_category()) {
    switch (ERR_GET_REASON(static_cast<unsigned long>(static_cast<unsigned int>(ec.value())))) {
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_VERSION_TOO_LOW:
        return TlsFailure::version;
      case SSL_R_NO_SHARED_CIPHER:
        return TlsFailure::no_shared_cipher;
      default:
        break;
    }
  }
  return TlsFailure::bad_handshake;
}

tcp::endpoint remote_endpoint(const tcp::socket& socket) {
  boost::system::error_code ignored;
  return socket.remote_endpoint(ignored);
}

// A connection whose first bytes have not arrived yet, or whose TLS handshake is under way.
class ConnectionStart final : public std::enable_shared_from_this<ConnectionStart>,
                              public TrackedSession {
 public:
  ConnectionStart(tcp::socket socket, SessionContext& context, const TlsContextSlot* tls)
      : socket_(std::move(socket)),
        // Asked now: a client that resets the connection takes its address with it.
        client_(remote_endpoint(socket_)),
        context_(context),
        listener_context_(context),
        tls_(tls) {
    context_.sessions.add(this);
    deadline_ = core::Clock::now() + context_.limits.header_timeout;
  }
  ~ConnectionStart() {
    context_.sessions.remove(this);
    if (holds_slot_ && context_.count_connection) context_.gate.leave();
  }
  ConnectionStart(const ConnectionStart&) = delete;
  ConnectionStart& operator=(const ConnectionStart&) = delete;

  void drain() override { cancel(); }

  void expire_if_due(std::chrono::steady_clock::time_point now) override {
    if (deadline_ > now) return;
    deadline_ = std::chrono::steady_clock::time_point::max();
    timed_out_ = true;
    cancel();
  }

  // Goes on from what a peek saw. A wait only after a peek that found nothing new: Asio's
  // reactor is edge-triggered and does not replay, for a readiness wait, an edge that came
  // before the wait did.
  void proceed(std::optional<FirstBytes> first) {
    if (!first) return;  // the client has gone: the slot goes back with this object
    switch (*first) {
      case FirstBytes::undecided:
        wait();
        return;
      case FirstBytes::tls:
        if (auto tls_context = tls_ != nullptr ? tls_->current() : nullptr) {
          start_handshake(std::move(tls_context));
          return;
        }
        break;
      case FirstBytes::h2c_preface:
        if (context_.offer_http2) {
          holds_slot_ = false;
          start_http2_session(std::move(socket_), listener_context_);
          return;
        }
        break;
      case FirstBytes::http1:
        break;
    }
    holds_slot_ = false;
    start_http1_session(std::move(socket_), listener_context_);
  }

 private:
  void wait() {
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                         self->on_readable(ec);
                       });
  }

  void start_handshake(TlsContextPtr tls_context) {
    stream_ = std::make_unique<TlsStream>(std::move(socket_), *tls_context);
    stream_->async_handshake(asio::ssl::stream_base::server,
                             [self = shared_from_this()](const boost::system::error_code& ec) {
                               self->on_handshake(ec);
                             });
  }

  void cancel() {
    boost::system::error_code ignored;
    (stream_ ? stream_->next_layer() : socket_).cancel(ignored);
  }

  void on_readable(const boost::system::error_code& ec) {
    // Timed out, drained, or the connection failed: it ends here, as an idle one would.
    if (!ec) proceed(peek_first_bytes(socket_));
  }

  void on_handshake(const boost::system::error_code& ec) {
    if (ec) {
      // Drain cancels a handshake without it failing: nothing to count.
      if (timed_out_ || ec != asio::error::operation_aborted) fail(ec);
      return;
    }
    const bool h2 = selected_alpn(stream_->native_handle()) == "h2";
    count_handshake(h2 ? TlsProtocol::h2 : TlsProtocol::http1);
    holds_slot_ = false;
    if (h2 && context_.offer_http2) {
      start_http2_session(std::move(stream_), listener_context_);
    } else {
      start_http1_session(std::move(*stream_), listener_context_);
    }
  }

  void count_handshake(TlsProtocol protocol) const {
    if (context_.metrics == nullptr) return;
    if (auto* counter = context_.metrics->tls.handshakes[static_cast<std::size_t>(protocol)]) {
      counter->inc();
    }
  }

  void fail(const boost::system::error_code& ec) {
    const TlsFailure failure = classify_failure(ec, timed_out_);
    if (context_.metrics != nullptr) {
      if (auto* counter = context_.metrics->tls.failures[static_cast<std::size_t>(failure)]) {
        counter->inc();
      }
    }
    static core::LogThrottle throttle(k_log_lines_per_second);
    if (auto suppressed = throttle.admit()) {
      spdlog::info("TLS handshake with {} failed ({}): {}{}", client_.address().to_string(),
                   to_string(failure),
                   failure == TlsFailure::timeout ? "not done within header_timeout" : ec.message(),
                   *suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", *suppressed)
                                   : std::string{});
    }
  }

  tcp::socket socket_;                 // until the protocol is known
  std::unique_ptr<TlsStream> stream_;  // during the TLS handshake
  tcp::endpoint client_;
  SessionContext context_;  // a copy: the listener may be gone first at a forced stop
  // The listener's, for the session taking over: alive whenever a handler of this runs.
  SessionContext& listener_context_;
  const TlsContextSlot* tls_;
  std::chrono::steady_clock::time_point deadline_;
  bool timed_out_ = false;
  bool holds_slot_ = true;
};

}  // namespace

void start_connection(tcp::socket socket, SessionContext& context, const TlsContextSlot* tls) {
  // The fast path: a request already in the socket goes to its session without a wait.
  const std::optional<FirstBytes> first = peek_first_bytes(socket);
  if (first == FirstBytes::http1) {
    start_http1_session(std::move(socket), context);
    return;
  }
  if (!first) {
    // Gone already (reset right after connecting): its slot goes back now.
    if (context.count_connection) context.gate.leave();
    return;
  }
  std::make_shared<ConnectionStart>(std::move(socket), context, tls)->proceed(first);
}

}  // namespace levee::server
