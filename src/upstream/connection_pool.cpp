#include "upstream/connection_pool.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <tuple>

#include "core/deadline_sweep.hpp"
#include "upstream/tls_handshake.hpp"

namespace levee::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {
constexpr auto k_peek_after = std::chrono::milliseconds(500);
}  // namespace

ConnectionPool::ConnectionPool(asio::any_io_executor executor, const config::UpstreamConfig& config,
                               std::vector<asio::ip::tcp::endpoint> endpoints,
                               TransportPtr transport)
    : executor_(std::move(executor)),
      config_(config),
      endpoints_(std::move(endpoints)),
      transport_(std::move(transport)) {
  idle_.reserve(config_.max_idle_connections);
}

bool ConnectionPool::usable(UpstreamConnection& connection, core::Clock::time_point now) const {
  const auto idle = now - connection.idle_since;
  if (idle >= config_.idle_timeout) return false;
  // Upstreams close idle keep-alive connections after seconds, not microseconds: a
  // connection back in the pool for less than k_peek_after is reused without a syscall (an
  // idempotent request that still meets a closed one is retried once). An older one is
  // peeked at: a peek that would block means the peer has neither closed nor sent anything.
  if (idle < k_peek_after) return true;
  char byte = 0;
  auto fd = connection.socket.native_handle();
  ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

asio::awaitable<core::Result<ConnectionPtr, UpstreamError>> ConnectionPool::acquire() {
  auto now = core::Clock::now();
  while (!idle_.empty()) {
    ConnectionPtr candidate = std::move(idle_.back());
    idle_.pop_back();
    if (usable(*candidate, now)) {
      candidate->reused = true;
      co_return candidate;
    }
  }
  co_return co_await connect();
}

asio::awaitable<core::Result<ConnectionPtr, UpstreamError>> ConnectionPool::connect() {
  auto connection = std::make_unique<UpstreamConnection>(executor_);
  boost::system::error_code ec;
  Deadline deadline(*this, *connection, config_.connect_timeout);
  std::tie(ec, std::ignore) = co_await asio::async_connect(connection->socket, endpoints_,
                                                           asio::as_tuple(asio::use_awaitable));
  if (ec) {
    if (connection->timed_out) {
      co_return core::unexpected(UpstreamError{UpstreamErrorKind::connect_timeout, {}});
    }
    if (ec == asio::error::connection_refused) {
      co_return core::unexpected(UpstreamError{UpstreamErrorKind::connect_refused, {}});
    }
    co_return core::unexpected(UpstreamError{UpstreamErrorKind::connect_failed, ec.message()});
  }
  connection->socket.set_option(asio::ip::tcp::no_delay(true), ec);
  if (transport_ && transport_->tls) {
    if (auto failed = co_await tls_handshake(connection->stream, *transport_, config_,
                                             connection->timed_out)) {
      co_return core::unexpected(std::move(*failed));
    }
  }
  co_return connection;
}

void ConnectionPool::release(ConnectionPtr connection) {
  if (idle_.size() >= config_.max_idle_connections) return;  // closes it
  connection->idle_since = core::Clock::now();
  idle_.push_back(std::move(connection));
}

void ConnectionPool::expire_due(core::Clock::time_point now) {
  // Cancelling only queues completions, so no connection leaves busy_ during the loop.
  for (auto* connection : busy_) {
    if (connection->deadline > now) continue;
    connection->deadline = core::Clock::time_point::max();
    connection->timed_out = true;
    boost::system::error_code ignored;
    connection->socket.cancel(ignored);
  }
}

Deadline::Deadline(ConnectionPool& pool, UpstreamConnection& connection,
                   core::Clock::duration timeout)
    : pool_(pool), connection_(connection) {
  connection_.timed_out = false;
  connection_.deadline = core::Clock::now() + timeout;
  pool_.busy_.insert(&connection_);
  if (!pool_.sweeping_) {
    // Started on first use, so a pool that is never used costs no timer. The pool outlives
    // its io_context (see Worker), as the sweep requires.
    pool_.sweeping_ = true;
    core::start_deadline_sweep(
        pool_.executor_, [pool = &pool_](core::Clock::time_point now) { pool->expire_due(now); });
  }
}

Deadline::~Deadline() {
  connection_.deadline = core::Clock::time_point::max();
  pool_.busy_.erase(&connection_);
}

}  // namespace levee::upstream
