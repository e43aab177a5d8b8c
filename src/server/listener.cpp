#include "server/listener.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "admin/metrics.hpp"
#include "server/connection_start.hpp"

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

}  // namespace

Listener::Listener(asio::io_context& io, const tcp::endpoint& endpoint, SessionContext context,
                   bool share_port, const TlsContextSlot* tls)
    : io_(io), acceptor_(io), context_(context), tls_(tls) {
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
    start_connection(std::move(socket), context_, tls_);
  }
}

}  // namespace levee::server
