#pragma once
// One HTTP/2 stream of a client connection (server/h2_session.hpp): the request as its
// frames arrive, the route's answer as nghttp2 pulls it out, and the client watch of the
// layers that park a request. Owned by the session's stream table from the stream's first
// HEADERS frame until nghttp2 closes it; the route's coroutine holds it too while it runs.
//
// Threading: the session's worker only.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/body_stream.hpp"
#include "core/client_watch.hpp"
#include "core/clock.hpp"
#include "core/dispatcher.hpp"
#include "core/phases.hpp"
#include "core/request.hpp"
#include "core/response.hpp"
#include "server/h2_fields.hpp"

namespace levee::server {

class H2Stream final : public std::enable_shared_from_this<H2Stream>, public core::ClientWatch {
 public:
  H2Stream(std::int32_t id, std::size_t max_header_bytes,
           const boost::asio::any_io_executor& executor);

  // --- the request, as nghttp2 delivers it ---
  std::int32_t id;
  H2RequestFields fields;
  std::string body;
  bool body_over_limit = false;  // answered 413; the rest of the body is dropped
  std::size_t discarded = 0;     // body bytes dropped since
  bool reset_sent = false;
  bool dispatched = false;  // the request went to its route (or was refused)
  // A body still arriving when the route started (the session's H2RequestBody): `body` holds
  // what came and was not read yet, `body_owed` of it not yet consumed (WINDOW_UPDATE), so a
  // route that reads slowly pauses the client within the stream's window.
  bool body_streamed = false;
  bool body_complete = false;     // END_STREAM seen
  bool body_reading = false;      // the route waits for more of it
  std::size_t body_received = 0;  // every DATA byte, against max_body_bytes
  std::size_t body_owed = 0;
  boost::asio::steady_timer body_wake;
  bool head_request = false;  // answered without a body

  // --- the answer ---
  core::Response response;
  std::size_t body_offset = 0;  // of a whole body, what nghttp2 has taken
  // A streamed body: the piece the pump read and nghttp2 has not taken yet, and how far.
  std::string_view piece;
  bool body_ended = false;    // the stream's last piece was read
  bool body_failed = false;   // the stream ended in an error: the client gets a reset
  bool pump_waiting = false;  // the pump sleeps on `wake` until the piece is taken
  bool pump_reading = false;  // the pump waits for the route's next piece
  core::Headers trailers;     // sent after the body (gRPC: grpc-status)
  boost::asio::steady_timer wake;
  std::size_t body_sent = 0;

  // --- accounting ---
  core::Phases phases;
  core::Dispatch dispatch;  // holds the route's configuration until the answer is sent
  std::string method_for_log;
  std::string target_for_log;
  std::string host_for_log;
  std::size_t request_bytes = 0;
  bool counted_in_gate = false;
  bool logged = false;

  // --- progress, for stream_idle_timeout ---
  core::Clock::time_point last_progress;
  // True while levee waits on the client (its body) or the client's window (the answer),
  // not while the route works: the route has its own timeouts.
  [[nodiscard]] bool waits_on_client() const noexcept;

  // --- the route's coroutine ---
  std::shared_ptr<boost::asio::cancellation_signal> cancel =
      std::make_shared<boost::asio::cancellation_signal>();
  bool in_route = false;
  bool answer_submitted = false;
  bool closed = false;  // nghttp2 closed the stream (answered, reset, or the connection ended)
  bool reset_by_client = false;

  // Ends the route's wait (the client reset the stream or the connection went away).
  void client_left();

  // core::ClientWatch
  void watch(std::function<void()> on_gone) override;
  void stop_watching() override { on_gone_ = nullptr; }
  [[nodiscard]] bool gone() const noexcept override { return gone_; }
  [[nodiscard]] bool gone_now() const noexcept override { return gone_; }

 private:
  boost::asio::any_io_executor executor_;
  std::function<void()> on_gone_;
  bool gone_ = false;
};

}  // namespace levee::server
