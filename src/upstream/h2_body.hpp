#pragma once
// The rest of an HTTP/2 upstream answer that had not ended when its caller took the head
// (core/body_stream.hpp): a server-streaming gRPC call's messages, a large download. Each
// read hands over what DATA has arrived; the bytes are consumed (WINDOW_UPDATE) only when the
// next read asks for more, so a reader that stops pauses the upstream within the stream's
// window, and levee holds at most that window of the body.
//
// request_timeout bounds each read, as on the http1 path. Destroying the body before its end
// resets the stream (RST_STREAM CANCEL) and gives back the window it held.
// Threading: the worker's io_context that owns the connection.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/body_stream.hpp"
#include "upstream/h2_connection.hpp"

namespace levee::upstream {

class H2Body final : public core::BodyStream {
 public:
  // `stream` is streaming already; `declared` is its answer's content-length, if it gave one.
  H2Body(std::shared_ptr<H2Connection> connection, std::shared_ptr<H2Stream> stream,
         std::chrono::steady_clock::duration read_timeout, std::optional<std::uint64_t> declared);
  ~H2Body() override;
  H2Body(const H2Body&) = delete;
  H2Body& operator=(const H2Body&) = delete;

  [[nodiscard]] boost::asio::awaitable<core::BodyPiece> read() override;
  [[nodiscard]] std::optional<std::uint64_t> length() const noexcept override { return declared_; }
  [[nodiscard]] core::Headers take_trailers() override;

 private:
  std::shared_ptr<H2Connection> connection_;
  std::shared_ptr<H2Stream> stream_;
  std::chrono::steady_clock::duration read_timeout_;
  std::optional<std::uint64_t> declared_;
  std::string piece_;     // the last piece handed out
  std::size_t owed_ = 0;  // its bytes not consumed yet
  bool ended_ = false;    // its end (or failure) was handed out
};

}  // namespace levee::upstream
