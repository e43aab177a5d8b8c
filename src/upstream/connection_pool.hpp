#pragma once
// Keep-alive connections to one upstream, owned by one worker: only that worker's
// io_context touches them, so the pool needs no lock. LIFO reuse keeps few connections warm.
// A connection is checked before reuse (closed by the peer, unexpected bytes, idle too long)
// so that a stale one is dropped instead of failing a request.
// An upstream with tls = true gets TLS over each new connection (tls_handshake.hpp), within
// connect_timeout like the connect itself.
//
// Timeouts: a connection in use carries a deadline (Deadline below), enforced by one
// deadline sweep per pool (core/deadline_sweep.hpp), so a connect or an exchange costs no
// timer of its own.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cstdint>
#include <memory>
#include <unordered_set>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "upstream/upstream_error.hpp"
#include "upstream/upstream_stream.hpp"
#include "upstream/upstream_transport.hpp"

namespace levee::upstream {

struct UpstreamConnection {
  explicit UpstreamConnection(const boost::asio::any_io_executor& executor)
      : socket(executor), stream(socket) {}
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;
  boost::asio::ip::tcp::socket socket;
  UpstreamStream stream;  // what exchanges read and write: the socket, or TLS over it
  boost::beast::flat_buffer buffer;
  core::Clock::time_point idle_since{};
  core::Clock::time_point deadline = core::Clock::time_point::max();
  bool reused = false;     // has carried an earlier exchange
  bool timed_out = false;  // the sweep cancelled its operations
};

using ConnectionPtr = std::unique_ptr<UpstreamConnection>;

class ConnectionPool;

// Bounds the operations on one connection until destroyed (RAII, so an abandoned call
// stops being swept). Create it after the connection is owned by the caller's frame.
class Deadline {
 public:
  Deadline(ConnectionPool& pool, UpstreamConnection& connection, core::Clock::duration timeout);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

 private:
  ConnectionPool& pool_;
  UpstreamConnection& connection_;
};

class ConnectionPool {
 public:
  // `transport` carries the TLS context of an upstream with tls = true (null: cleartext).
  ConnectionPool(boost::asio::any_io_executor executor, const config::UpstreamConfig& config,
                 std::vector<boost::asio::ip::tcp::endpoint> endpoints,
                 TransportPtr transport = nullptr);

  // A live idle connection if there is one, otherwise a new one (within connect_timeout).
  [[nodiscard]] boost::asio::awaitable<core::Result<ConnectionPtr, UpstreamError>> acquire();
  // A fresh connection, never a pooled one: for the retry after a stale reuse.
  [[nodiscard]] boost::asio::awaitable<core::Result<ConnectionPtr, UpstreamError>> connect();
  // Gives a connection whose last exchange completed cleanly back for reuse.
  void release(ConnectionPtr connection);
  // Closes every idle connection (at shutdown, before the io_context goes).
  void close_idle() noexcept { idle_.clear(); }

  [[nodiscard]] std::size_t idle_count() const noexcept { return idle_.size(); }
  [[nodiscard]] std::size_t busy_count() const noexcept { return busy_.size(); }

  // Cancels the operations of every busy connection whose deadline is at or before `now`.
  void expire_due(core::Clock::time_point now);
  [[nodiscard]] const config::UpstreamConfig& config() const noexcept { return config_; }

 private:
  friend class Deadline;
  [[nodiscard]] bool usable(UpstreamConnection& connection, core::Clock::time_point now) const;

  boost::asio::any_io_executor executor_;
  const config::UpstreamConfig& config_;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
  TransportPtr transport_;
  std::vector<ConnectionPtr> idle_;
  std::unordered_set<UpstreamConnection*> busy_;  // connections with a Deadline
  bool sweeping_ = false;
};

}  // namespace levee::upstream
