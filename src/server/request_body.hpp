#pragma once
// The part of a request body that did not arrive with its head, read from the client's
// connection only when the route asks (core::Request::body_stream): the upstream client
// forwards each piece before it asks for the next, so a slow upstream stops the reading of
// the client and one read buffer is all levee keeps (docs/life_of_a_request.md).
//
// Valid while its request is being handled: the session detaches it when the request is
// answered, after which a read reports the body cut short instead of touching the session.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>

#include "core/body_stream.hpp"
#include "server/request_parser.hpp"

namespace levee::server {

// Where a request body's pieces come from: the session of its connection.
class BodySource {
 public:
  // The next piece of the current request's streamed body.
  [[nodiscard]] virtual boost::asio::awaitable<core::BodyPiece> read_body_piece(
      RequestParser& parser) = 0;

 protected:
  BodySource() = default;
  ~BodySource() = default;
  BodySource(const BodySource&) = default;
  BodySource& operator=(const BodySource&) = default;
};

class RequestBody final : public core::BodyStream {
 public:
  RequestBody(BodySource& session, RequestParser& parser) : session_(&session), parser_(&parser) {}

  [[nodiscard]] boost::asio::awaitable<core::BodyPiece> read() override;
  [[nodiscard]] std::optional<std::uint64_t> length() const noexcept override { return length_; }
  [[nodiscard]] core::Headers take_trailers() override;

  // Records the declared length before the head's bytes are moved out of the parser.
  void set_length(std::optional<std::uint64_t> length) noexcept { length_ = length; }
  void detach() noexcept {
    session_ = nullptr;
    parser_ = nullptr;
  }
  [[nodiscard]] std::uint64_t bytes_read() const noexcept { return bytes_read_; }

 private:
  BodySource* session_;
  RequestParser* parser_;
  std::optional<std::uint64_t> length_;
  std::uint64_t bytes_read_ = 0;
};

}  // namespace levee::server
