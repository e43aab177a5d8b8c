#pragma once
// The counters the HTTP server itself updates: connections and the requests it refuses
// before any route sees them. Owned by the process (created from the registry at start-up),
// referenced by every session; the metric objects are thread-safe and shard per worker.

#include <array>
#include <cstddef>
#include <string_view>

namespace levee::admin {
class Counter;
class Gauge;
}  // namespace levee::admin

namespace levee::server {

// Why the server answered a request itself instead of routing it.
enum class RejectReason : std::size_t {
  header_too_large,  // 431
  body_too_large,    // 413
  bad_request,       // 400: malformed, missing Host, CL+TE, bad chunk
  unsupported,       // 501/505/417: transfer coding, HTTP version, expectation
  timeout,           // 408: headers or body too slow
  no_route,          // 404
  count_,
};

[[nodiscard]] std::string_view to_string(RejectReason reason) noexcept;

struct ServerMetrics {
  admin::Gauge* open_connections = nullptr;
  admin::Counter* connections_accepted = nullptr;
  admin::Counter* connections_refused = nullptr;  // over max_connections
  std::array<admin::Counter*, static_cast<std::size_t>(RejectReason::count_)> rejected{};
};

}  // namespace levee::server
