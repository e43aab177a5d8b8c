#pragma once
// The request as every layer sees it: parsed, de-chunked, limits already enforced by the
// server. Moved down the pipeline; a layer that needs it after passing it on keeps a copy.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/client_watch.hpp"
#include "core/headers.hpp"

namespace levee::core {

struct Request {
  std::string method;
  std::string target;     // origin-form: path and optional "?query"
  unsigned version = 11;  // 10 or 11, as Beast counts
  Headers headers;
  std::string body;
  // The trailer section of a chunked request, never merged into `headers`. Sent upstream
  // only by a route with forward_trailers; every other layer ignores it.
  Headers trailers;

  // Facts about the client connection, for X-Forwarded-For, logs and metrics.
  std::string client_address;
  std::chrono::steady_clock::time_point received_at{};
  // Null when there is no client connection to watch (tests, internal requests).
  std::shared_ptr<ClientWatch> client;

  [[nodiscard]] std::string_view path() const noexcept;
  [[nodiscard]] std::string_view query() const noexcept;  // without the '?'
  // Host without a port, empty when absent.
  [[nodiscard]] std::string_view host() const noexcept;
};

// RFC 9110 9.2.2: methods a proxy may repeat without changing the outcome.
[[nodiscard]] bool is_idempotent(std::string_view method) noexcept;

}  // namespace levee::core
