#pragma once
// Keep-alive connections to one upstream, owned by one worker: only that worker's
// io_context touches them, so the pool needs no lock. LIFO reuse keeps few connections warm.
// A connection is checked before reuse (closed by the peer, unexpected bytes, idle too long)
// so that a stale one is dropped instead of failing a request.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "upstream/upstream_error.hpp"

namespace levee::upstream {

struct UpstreamConnection {
  explicit UpstreamConnection(boost::asio::any_io_executor executor) : stream(executor) {}
  boost::beast::tcp_stream stream;
  boost::beast::flat_buffer buffer;
  core::Clock::time_point idle_since{};
  bool reused = false;  // has carried an earlier exchange
};

using ConnectionPtr = std::unique_ptr<UpstreamConnection>;

class ConnectionPool {
 public:
  ConnectionPool(boost::asio::any_io_executor executor, const config::UpstreamConfig& config,
                 std::vector<boost::asio::ip::tcp::endpoint> endpoints);

  // A live idle connection if there is one, otherwise a new one (within connect_timeout).
  [[nodiscard]] boost::asio::awaitable<core::Result<ConnectionPtr, UpstreamError>> acquire();
  // A fresh connection, never a pooled one: for the retry after a stale reuse.
  [[nodiscard]] boost::asio::awaitable<core::Result<ConnectionPtr, UpstreamError>> connect();
  // Gives a connection whose last exchange completed cleanly back for reuse.
  void release(ConnectionPtr connection);

  [[nodiscard]] std::size_t idle_count() const noexcept { return idle_.size(); }
  [[nodiscard]] const config::UpstreamConfig& config() const noexcept { return config_; }

 private:
  [[nodiscard]] bool usable(UpstreamConnection& connection, core::Clock::time_point now) const;

  boost::asio::any_io_executor executor_;
  const config::UpstreamConfig& config_;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
  std::vector<ConnectionPtr> idle_;
};

}  // namespace levee::upstream
