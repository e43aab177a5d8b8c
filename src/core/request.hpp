#pragma once
// The request as every layer sees it: parsed, de-chunked, limits already enforced by the
// server. Moved down the pipeline; a layer that needs it after passing it on keeps a copy.
// The body is either whole (`body`) or still arriving from the client (`body_stream`, on a
// request whose body did not come with its head): the upstream client forwards it piece by
// piece, and a layer that needs it whole calls read_whole_body() first.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/body_stream.hpp"
#include "core/client_watch.hpp"
#include "core/headers.hpp"
#include "core/phases.hpp"

namespace levee::core {

struct Request {
  std::string method;
  std::string target;     // origin-form: path and optional "?query"
  unsigned version = 11;  // 10 or 11, as Beast counts
  Headers headers;
  std::string body;
  // The body still to be read from the client, valid only while the request is being handled
  // (it reads the client's connection); null when `body` is the whole body.
  std::shared_ptr<BodyStream> body_stream;
  // The trailer section of a chunked request, never merged into `headers`. Sent upstream
  // only by a route with forward_trailers; every other layer ignores it.
  Headers trailers;

  // Facts about the client connection, for X-Forwarded-For, logs and metrics.
  std::string client_address;
  std::chrono::steady_clock::time_point received_at{};
  // Null when there is no client connection to watch (tests, internal requests).
  std::shared_ptr<ClientWatch> client;
  // Where this request's time goes (core/phases.hpp): owned by the session serving it, null
  // for requests no client waits on (a batch or slot call, a cache refresh).
  Phases* phases = nullptr;

  [[nodiscard]] std::string_view path() const noexcept;
  [[nodiscard]] std::string_view query() const noexcept;  // without the '?'
  // Host without a port, empty when absent.
  [[nodiscard]] std::string_view host() const noexcept;
};

// Reads a streamed body into request.body (and its trailers into request.trailers); the
// server's max_body_bytes bounds it already. False when the client's body failed.
[[nodiscard]] boost::asio::awaitable<bool> read_whole_body(Request& request);

// RFC 9110 9.2.2: methods a proxy may repeat without changing the outcome.
[[nodiscard]] bool is_idempotent(std::string_view method) noexcept;

}  // namespace levee::core
