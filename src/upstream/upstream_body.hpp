#pragma once
// The rest of an upstream answer that did not arrive with its head, read from the upstream
// connection only when the holder asks (core/body_stream.hpp): a client that reads slowly
// pauses the upstream, and one read buffer is all levee keeps of the body.
//
// The connection is owned by the stream: back to the pool after a clean keep-alive end,
// closed on any other end (cut short, timed out, abandoned half-read). request_timeout bounds
// each read, as nginx's proxy_read_timeout bounds the time between two reads.
// Threading: the worker's io_context that owns the pool.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>

#include "core/body_stream.hpp"
#include "upstream/connection_pool.hpp"
#include "upstream/response_parser.hpp"

namespace levee::upstream {

class UpstreamBody final : public core::BodyStream {
 public:
  // `parser` has parsed the head; the body bytes it parsed with it are the first piece.
  UpstreamBody(ConnectionPool& pool, ConnectionPtr connection,
               std::unique_ptr<ResponseParser> parser);
  ~UpstreamBody() override = default;

  [[nodiscard]] boost::asio::awaitable<core::BodyPiece> read() override;
  [[nodiscard]] std::optional<std::uint64_t> length() const noexcept override;

 private:
  void finish();

  ConnectionPool& pool_;
  ConnectionPtr connection_;
  std::unique_ptr<ResponseParser> parser_;
  bool first_piece_ = true;
  bool finished_ = false;
};

}  // namespace levee::upstream
