#include "server/listener.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "admin/metrics.hpp"
#include "server/h2_session.hpp"

namespace levee::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto k_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr int k_backlog = 4096;
// After a failed accept (e.g. out of file descriptors) wait a little before the next one,
// or the loop spins on the same error.
constexpr auto k_accept_error_pause = std::chrono::milliseconds(50);

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// RFC 9113 3.4: a client with prior knowledge opens with this preface; no HTTP/1.1 request
// line starts with it.
constexpr std::string_view k_h2_preface_start = "PRI * HTTP/2.0";

enum class Protocol { http1, h2c };

// Which protocol a new connection speaks, from its first bytes, peeked and left in the socket.
// Bounded by header_timeout, as the first request's head would be.
asio::awaitable<Protocol> detect_protocol(tcp::socket& socket,
                                          std::chrono::steady_clock::duration timeout) {
  asio::steady_timer deadline(socket.get_executor());
  deadline.expires_after(timeout);
  bool expired = false;
  deadline.async_wait([&](const boost::system::error_code& ec) {
    if (ec) return;
    expired = true;
    boost::system::error_code ignored;
    socket.cancel(ignored);
  });
  std::array<char, k_h2_preface_start.size()> head{};
  for (;;) {
    auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, k_nothrow);
    if (ec || expired) break;
    const ssize_t n = ::recv(socket.native_handle(), head.data(), head.size(), MSG_PEEK);
    if (n <= 0) break;
    const std::string_view seen(head.data(), static_cast<std::size_t>(n));
    if (!k_h2_preface_start.starts_with(seen)) {
      deadline.cancel();
      co_return Protocol::http1;
    }
    if (seen.size() == k_h2_preface_start.size()) {
      deadline.cancel();
      co_return Protocol::h2c;
    }
    // A prefix of the preface so far: wait for more.
  }
  deadline.cancel();
  // Timed out or closed before a byte that tells: the HTTP/1.1 session answers that (408).
  co_return Protocol::http1;
}

asio::awaitable<void> serve_detected(tcp::socket socket, SessionContext& context) {
  const Protocol protocol = co_await detect_protocol(socket, context.limits.header_timeout);
  if (protocol == Protocol::h2c) {
    start_http2_session(std::move(socket), context);
    co_return;
  }
  // A connection closed before its first byte goes there too: the session sees the end and
  // leaves the connection gate as every connection does.
  auto executor = socket.get_executor();
  auto session = std::make_shared<HttpSession>(std::move(socket), context);
  auto cancel = session->cancellation();
  asio::co_spawn(executor, session->run(),
                 asio::bind_cancellation_slot(cancel->slot(), [cancel](std::exception_ptr) {}));
}

}  // namespace

Listener::Listener(asio::io_context& io, const tcp::endpoint& endpoint, SessionContext context,
                   bool share_port)
    : io_(io), acceptor_(io), context_(context) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  if (share_port) acceptor_.set_option(reuse_port(true));
  acceptor_.bind(endpoint);
}

void Listener::listen() { acceptor_.listen(k_backlog); }

void Listener::start() {
  asio::co_spawn(io_, [self = shared_from_this()] { return self->accept_loop(); }, asio::detached);
}

void Listener::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

tcp::endpoint Listener::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

asio::awaitable<void> Listener::refuse(tcp::socket socket) {
  static constexpr std::string_view k_busy =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 21\r\nRetry-After: 1\r\nConnection: close\r\n\r\ntoo many connections\n";
  // Best effort: the client may already be gone, and the socket closes either way.
  (void)co_await asio::async_write(socket, asio::buffer(k_busy), k_nothrow);
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> Listener::accept_loop() {
  auto self = shared_from_this();
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(k_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(io_, k_accept_error_pause);
      co_await pause.async_wait(k_nothrow);
      continue;
    }
    if (context_.metrics != nullptr) context_.metrics->connections_accepted->inc();
    if (context_.count_connection && !context_.gate.try_enter()) {
      if (context_.metrics != nullptr) context_.metrics->connections_refused->inc();
      asio::co_spawn(io_, refuse(std::move(socket)), asio::detached);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (context_.offer_http2) {
      asio::co_spawn(io_, serve_detected(std::move(socket), context_), asio::detached);
      continue;
    }
    auto session = std::make_shared<HttpSession>(std::move(socket), context_);
    // The session's run() frame owns the session (see HttpSession).
    // The completion handler keeps the signal alive until co_spawn is done with its slot,
    // which is after the frame (and the session) is gone.
    auto cancel = session->cancellation();
    asio::co_spawn(io_, session->run(),
                   asio::bind_cancellation_slot(cancel->slot(), [cancel](std::exception_ptr) {}));
  }
}

}  // namespace levee::server
