#include "upstream/h2_pool.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>

#include "upstream/h2_body.hpp"
#include "upstream/h2_connection.hpp"
#include "upstream/h2_message.hpp"

namespace levee::upstream {

namespace asio = boost::asio;

H2Pool::H2Pool(asio::any_io_executor executor, const config::UpstreamConfig& config,
               const std::vector<asio::ip::tcp::endpoint>& endpoints, TransportPtr transport)
    : executor_(std::move(executor)),
      config_(config),
      endpoints_(endpoints),
      transport_(std::move(transport)) {}

H2Pool::~H2Pool() {
  *alive_ = false;
  close_all();
}

void H2Pool::close_all() {
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& connection : connections) connection->close();
}

std::size_t H2Pool::connection_count() const noexcept {
  return static_cast<std::size_t>(std::count_if(connections_.begin(), connections_.end(),
                                                [](const auto& c) { return !c->closed(); }));
}

void H2Pool::wake_waiters() {
  for (auto* waiter : waiters_) waiter->cancel();
}

std::shared_ptr<H2Connection> H2Pool::pick() {
  std::erase_if(connections_, [](const auto& c) { return c->closed(); });
  // Fill the connections in order, so that streams gather on few of them and an idle one
  // can time out.
  for (auto& connection : connections_) {
    if (connection->takes_streams()) return connection;
  }
  const auto serving = std::count_if(connections_.begin(), connections_.end(),
                                     [](const auto& c) { return !c->retiring(); });
  if (static_cast<std::uint32_t>(serving) >= config_.max_h2_connections) return nullptr;
  // The callback reaches the pool only while it exists (a connection may outlive it briefly
  // at shutdown, in the frames of its reader and writer).
  auto connection = std::make_shared<H2Connection>(executor_, config_, endpoints_, transport_,
                                                   [this, alive = alive_] {
                                                     if (*alive) wake_waiters();
                                                   });
  connections_.push_back(connection);
  connection->start();
  return connection;
}

asio::awaitable<core::Result<std::shared_ptr<H2Connection>, UpstreamError>> H2Pool::acquire(
    Clock::time_point deadline) {
  for (;;) {
    if (auto connection = pick()) co_return connection;
    if (Clock::now() >= deadline) {
      co_return core::unexpected(UpstreamError{
          UpstreamErrorKind::timeout, "every HTTP/2 connection was full for request_timeout"});
    }
    asio::steady_timer wait(executor_, deadline);
    // Removed on every way out of this frame, destruction included.
    auto entry = waiters_.insert(waiters_.end(), &wait);
    struct Unlist {
      std::list<asio::steady_timer*>& list;
      std::list<asio::steady_timer*>::iterator entry;
      ~Unlist() { list.erase(entry); }
    } unlist{waiters_, entry};
    auto [ec] = co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;  // expired or woken: the loop looks again, and checks the deadline
  }
}

namespace {

// Feeds a request body that is still arriving from the client to its stream, a piece at a
// time: the next piece is read only once nghttp2 has taken the last (the upstream's window
// paces the client). Detached: it may outlive the call (a bidirectional stream goes on after
// the answer's head); the source stays safe to read after its request (it then reports the
// body cut short), and a stream that ends wakes it.
asio::awaitable<void> pump_body(std::shared_ptr<H2Connection> connection,
                                std::shared_ptr<H2Stream> stream,
                                std::shared_ptr<core::BodyStream> source) {
  const auto sent = [&stream]() -> asio::awaitable<void> {
    while (!stream->body_piece.empty() && !stream->done) {
      stream->body_wake.expires_at(asio::steady_timer::time_point::max());
      (void)co_await stream->body_wake.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  };
  // What came with the request's head (an HTTP/1.1 client's first bytes) goes first.
  if (stream->body && !stream->body->empty()) {
    stream->body_piece = *stream->body;
    connection->resume_body(*stream);
    co_await sent();
  }
  while (!stream->done) {
    core::BodyPiece piece = co_await source->read();
    if (stream->done) break;
    if (!piece) {
      stream->client_body_error = piece.error();
      connection->abandon(*stream);
      break;
    }
    if (piece.value().empty()) {
      stream->body_source_ended = true;
      connection->resume_body(*stream);
      break;
    }
    stream->body_piece = piece.value();
    connection->resume_body(*stream);
    co_await sent();
  }
  stream->body_piece = {};  // the source's bytes are not to be read past here
}

}  // namespace

asio::awaitable<core::Result<core::Response, UpstreamError>> H2Pool::send(core::Request& request) {
  const bool tls = config_.protocol == config::UpstreamProtocol::h2;
  const std::vector<core::Header> fields =
      h2_request_fields(request, tls ? "https" : "http", config_.address.to_string());
  // A body still arriving goes as it comes (pump_body); it cannot be sent twice, so such a
  // call is not retried once its stream took it.
  std::shared_ptr<core::BodyStream> body_source = std::move(request.body_stream);
  const auto body = std::make_shared<const std::string>(std::move(request.body));
  const bool idempotent = core::is_idempotent(request.method);
  const bool head_request = request.method == "HEAD";

  for (int attempt = 0;; ++attempt) {
    // The wait for a free stream and the exchange share request_timeout; a connection still
    // connecting adds its connect_timeout.
    const auto deadline = Clock::now() + config_.request_timeout;
    auto acquired = co_await acquire(deadline);
    if (!acquired) co_return core::unexpected(acquired.error());
    std::shared_ptr<H2Connection> connection = std::move(acquired).value();
    auto stream = std::make_shared<H2Stream>(executor_, config_.max_response_bytes, body);
    stream->body_streamed = body_source != nullptr;
    if (!connection->submit(stream, fields)) {
      if (attempt == 0) continue;
      co_return core::unexpected(
          UpstreamError{UpstreamErrorKind::reset, "HTTP/2 connection took no new stream"});
    }
    if (body_source) {
      asio::co_spawn(executor_, pump_body(connection, stream, body_source), asio::detached);
    }
    const auto until =
        deadline + (connection->connecting() ? config_.connect_timeout : Clock::duration::zero());
    // Woken when the stream ends, or when its answer's body has begun (more may follow).
    while (!stream->done && !stream->body_begun && Clock::now() < until) {
      stream->wake.expires_at(until);
      auto [ec] = co_await stream->wake.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec != asio::error::operation_aborted) break;  // the deadline
      const auto state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) break;
    }
    if (!stream->done && !stream->error && stream->body_begun) {
      // Still arriving (a stream of gRPC messages, a large body): the rest is read as it
      // comes, paced by its reader, and max_response_bytes bounds only holders that keep it.
      stream->streaming = true;
      std::optional<std::uint64_t> declared;
      core::Response response = stream->response.take_head(head_request, declared);
      stream->pending = stream->response.take_body();  // consumed already
      response.stream = std::make_shared<H2Body>(std::move(connection), stream,
                                                 config_.request_timeout, declared);
      co_return response;
    }
    if (stream->client_body_error) {
      // The client's body failed (cut short, too large): its fault, not the upstream's.
      co_return core::unexpected(
          UpstreamError{UpstreamErrorKind::reset, {}, *stream->client_body_error});
    }
    if (!stream->done) {
      // The deadline passed, or the call was cancelled: the upstream is told to stop.
      connection->abandon(*stream);
      co_return core::unexpected(UpstreamError{UpstreamErrorKind::timeout, {}});
    }
    if (!stream->error) co_return stream->response.take(head_request);
    const bool retry = attempt == 0 && !body_source && !stream->connect_failed &&
                       (!stream->headers_sent || (stream->refused && idempotent));
    if (!retry) co_return core::unexpected(std::move(*stream->error));
  }
}

}  // namespace levee::upstream
