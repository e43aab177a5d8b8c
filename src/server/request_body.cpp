#include "server/request_body.hpp"

namespace levee::server {

boost::asio::awaitable<core::BodyPiece> RequestBody::read() {
  if (session_ == nullptr) co_return core::unexpected(core::BodyError::cut_short);
  core::BodyPiece piece = co_await session_->read_body_piece(*parser_);
  if (piece) bytes_read_ += piece.value().size();
  co_return piece;
}

core::Headers RequestBody::take_trailers() {
  if (parser_ == nullptr) return {};
  return parser_->take_trailers();
}

}  // namespace levee::server
