#pragma once
// Accepts client connections on one worker: each worker owns a listening socket bound to the
// same address with SO_REUSEPORT, so the kernel spreads connections over workers and no lock
// is shared on accept. A connection over max_connections gets an immediate 503 and is closed.
// Each accepted connection is served in the protocol its first bytes show (HTTP/1.1, h2c, or
// TLS when the listener has a TLS context: server/connection_start.hpp).
//
// Threading: construct, start and stop on the owning worker's thread (stop may also be
// posted there). The accept loop's frame is owned by the io_context (co_spawn, detached)
// and holds a shared_ptr to the listener.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "server/http_session.hpp"
#include "server/tls_context_slot.hpp"

namespace levee::server {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Binds; throws boost::system::system_error naming the cause. No connection is queued for
  // it before listen(), so a caller can look for other owners of the port in between
  // (server/port_owners.hpp) without taking any of their connections.
  // `share_port`: SO_REUSEPORT, for the workers that share one proxy port; a listener without
  // it (the admin one) fails to bind a port that is already taken, as an operator expects.
  // `tls`: the listener's TLS context (null or empty: cleartext only); outlives the io_context.
  Listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint,
           SessionContext context, bool share_port = true, const TlsContextSlot* tls = nullptr);

  // Starts queueing connections; throws boost::system::system_error.
  void listen();
  void start();
  void stop();
  [[nodiscard]] boost::asio::ip::tcp::endpoint local_endpoint() const;
  [[nodiscard]] int native_handle() { return acceptor_.native_handle(); }
  [[nodiscard]] SessionContext& context() noexcept { return context_; }

 private:
  [[nodiscard]] boost::asio::awaitable<void> accept_loop();
  [[nodiscard]] static boost::asio::awaitable<void> refuse(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  SessionContext context_;
  const TlsContextSlot* tls_;
};

}  // namespace levee::server
