#include "upstream/h2_body.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

namespace levee::upstream {

namespace asio = boost::asio;

namespace {

core::BodyError body_error(const UpstreamError& error) {
  return error.kind == UpstreamErrorKind::timeout ? core::BodyError::timed_out
                                                  : core::BodyError::cut_short;
}

}  // namespace

H2Body::H2Body(std::shared_ptr<H2Connection> connection, std::shared_ptr<H2Stream> stream,
               std::chrono::steady_clock::duration read_timeout,
               std::optional<std::uint64_t> declared)
    : connection_(std::move(connection)),
      stream_(std::move(stream)),
      read_timeout_(read_timeout),
      declared_(declared) {}

H2Body::~H2Body() {
  // What arrived and was never read still counts against the connection's window.
  connection_->consume(*stream_, owed_ + std::exchange(stream_->pending_owed, 0));
  stream_->pending.clear();
  if (!stream_->done) connection_->abandon(*stream_);
}

asio::awaitable<core::BodyPiece> H2Body::read() {
  // The last piece is done with: the upstream may send that much more.
  connection_->consume(*stream_, std::exchange(owed_, 0));
  piece_.clear();
  if (ended_) co_return core::BodyPiece(std::string_view{});
  for (;;) {
    if (!stream_->pending.empty()) {
      piece_.swap(stream_->pending);
      owed_ = std::exchange(stream_->pending_owed, 0);
      co_return core::BodyPiece(std::string_view(piece_));
    }
    if (stream_->done) {
      ended_ = true;
      if (stream_->error) co_return core::unexpected(body_error(*stream_->error));
      co_return core::BodyPiece(std::string_view{});
    }
    stream_->wake.expires_after(read_timeout_);
    const auto [ec] = co_await stream_->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!stream_->pending.empty() || stream_->done) continue;
    const auto state = co_await asio::this_coro::cancellation_state;
    const bool cancelled = state.cancelled() != asio::cancellation_type::none;
    if (!cancelled && ec == asio::error::operation_aborted) continue;  // woken for nothing new
    // Nothing came within read_timeout, or the reader was cancelled: the upstream is told to
    // stop either way.
    if (!cancelled) stream_->error = UpstreamError{UpstreamErrorKind::timeout, {}};
    connection_->abandon(*stream_);
    ended_ = true;
    co_return core::unexpected(cancelled ? core::BodyError::cancelled : core::BodyError::timed_out);
  }
}

core::Headers H2Body::take_trailers() { return stream_->response.take_trailers(); }

}  // namespace levee::upstream
