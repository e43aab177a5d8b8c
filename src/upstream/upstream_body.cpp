#include "upstream/upstream_body.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>

#include "upstream/quick_ack.hpp"

namespace levee::upstream {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {
// Beast sizes each read by the buffer's free space (512 bytes at least): without room, a long
// body would come 512 bytes per system call.
constexpr std::size_t k_read_room = 64 * 1024;
}  // namespace

UpstreamBody::UpstreamBody(ConnectionPool& pool, ConnectionPtr connection,
                           std::unique_ptr<ResponseParser> parser)
    : pool_(pool), connection_(std::move(connection)), parser_(std::move(parser)) {
  connection_->buffer.reserve(k_read_room);
}

std::optional<std::uint64_t> UpstreamBody::length() const noexcept {
  auto declared = parser_->content_length();
  if (!declared) return std::nullopt;
  return *declared;
}

void UpstreamBody::finish() {
  finished_ = true;
  if (parser_->keep_alive() && connection_->buffer.size() == 0) {
    connection_->buffer.shrink_to_fit();  // an idle connection keeps no read room
    pool_.release(std::move(connection_));
  } else {
    connection_.reset();
  }
}

asio::awaitable<core::BodyPiece> UpstreamBody::read() {
  std::string& piece = parser_->body_bytes();
  if (std::exchange(first_piece_, false) && !piece.empty()) {
    if (parser_->is_done()) finish();
    co_return std::string_view(piece);
  }
  piece.clear();
  if (finished_ || parser_->is_done()) {
    if (!finished_) finish();
    co_return std::string_view{};
  }
  boost::system::error_code read_ec;
  {
    // Ends before the connection is released or closed below, which it refers to.
    Deadline deadline(pool_, *connection_, pool_.config().request_timeout);
    while (piece.empty() && !parser_->is_done()) {
      // The upstream may be waiting for the ACK of what it sent (quick_ack.hpp).
      ack_promptly(connection_->socket);
      auto [ec, n] = co_await http::async_read_some(connection_->stream, connection_->buffer,
                                                    *parser_, asio::as_tuple(asio::use_awaitable));
      if (ec) {
        read_ec = ec;
        break;
      }
    }
  }
  if (read_ec) {
    const bool timed_out = connection_->timed_out;
    connection_.reset();
    finished_ = true;
    co_return core::unexpected(timed_out ? core::BodyError::timed_out : core::BodyError::cut_short);
  }
  if (parser_->is_done()) finish();
  co_return std::string_view(piece);
}

}  // namespace levee::upstream
