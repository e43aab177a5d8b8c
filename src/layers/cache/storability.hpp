#pragma once
// Whether an upstream answer may be stored by the response cache, and for how long (DESIGN.md
// "Cache and circuit breaker", RFC 9111 3 and 4.2 for a shared cache). Pure functions, callable
// from any thread; the layer calls decide_storage() once per upstream answer and, when it says
// store, make_cached_response() to build the entry.
//
// The rules, in the order they are checked (the first that fails is the reason):
//   method         only GET. A HEAD answer has no body, and GET and HEAD share a key (a cached
//                  GET answers a HEAD), so a HEAD answer is never stored.
//   status         200 203 204 300 301 308 404 405 410 414 501 (RFC 9110 15.1 "heuristically
//                  cacheable"); anything else, including 206, is not stored.
//   set_cookie     the response has Set-Cookie: never stored, whatever Cache-Control says.
//   vary_star      `Vary: *`, or more than k_max_vary_names names.
//   no_store       response no-store, or request no-store (RFC 9111 5.2.1.5).
//   no_cache       response no-cache (qualified or not): it may only be used after
//                  revalidation, which this cache does not do, so it is not stored.
//   private_       response private (qualified or not).
//   authorization  the request had Authorization and the response says none of public,
//                  s-maxage, must-revalidate (RFC 9111 3.5). Applies even when the route does
//                  not honour Cache-Control: a key never includes credentials.
//   too_large      body + header bytes above the route's max_entry_bytes.
//   expired        no freshness and no stale time left: lifetime + stale window <= Age.
//
// A gRPC unary call (decide_grpc_storage, a route with grpc = true) is a POST, but a read: its
// answer is checked as a GET's, except for the first rules:
//   status         HTTP 200 only.
//   grpc_status    grpc-status is "0" (OK): in the trailers, or in the headers of a
//                  trailers-only answer. An error, or an answer without grpc-status, is not stored.
//   grpc_stream    the body is not exactly one length-prefixed message (a server-streaming
//                  answer, or a malformed one): only unary answers are stored.
//   authorization  never: grpc_call_key holds the Authorization value, as the collapse key does
//                  by default, so a call's answer is only ever served to the same credential.
// then set_cookie and the rest as above, the trailers counting toward too_large.
//
// Lifetime: s-maxage if present, else max-age, else the route's ttl. Then the upstream's `Age`
// counts as time already spent (RFC 9111 4.2.3): the entry is stored as if it arrived that long
// ago. Stale window (stale-while-revalidate): the response's own if it gives one; else none if
// it says must-revalidate / proxy-revalidate or s-maxage (which implies proxy-revalidate,
// RFC 9111 5.2.2.10); else the route's. must-revalidate / proxy-revalidate always win: 0.
//
// honour_cache_control = false ignores the response's Cache-Control and Age and the request's
// no-store: ttl and stale window are the route's. Method, status, Set-Cookie, Vary,
// Authorization and size are checked all the same. `Expires` is not read (ttl applies).

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/headers.hpp"
#include "core/request.hpp"
#include "core/response.hpp"
#include "layers/cache/cached_response.hpp"

namespace levee::layers::cache {

struct RouteCacheRules {
  Duration ttl{0};
  Duration stale_while_revalidate{0};
  std::uint64_t max_entry_bytes = std::uint64_t{1} << 20;
  bool honour_cache_control = true;
};

enum class Refusal : std::uint8_t {
  method,
  status,
  set_cookie,
  vary_star,
  no_store,
  no_cache,
  private_,
  authorization,
  too_large,
  expired,
  grpc_status,
  grpc_stream,
};
// Snake-case names for metrics labels and logs ("private" for private_).
[[nodiscard]] std::string_view to_string(Refusal refusal) noexcept;

struct StoragePlan {
  Duration fresh_for{0};
  Duration stale_for{0};
  Duration initial_age{0};        // the upstream's Age: stored_at = now - initial_age
  std::vector<std::string> vary;  // the response's Vary names, for variant_key()
};

struct StorageDecision {
  std::optional<Refusal> refusal;  // set: do not store
  StoragePlan plan;                // meaningful only when storable()

  [[nodiscard]] bool storable() const noexcept { return !refusal.has_value(); }
};

[[nodiscard]] bool is_cacheable_status(int status) noexcept;

[[nodiscard]] StorageDecision decide_storage(std::string_view method,
                                             const core::Headers& request_headers, int status,
                                             const core::Headers& response_headers,
                                             std::uint64_t body_bytes,
                                             const RouteCacheRules& rules);

[[nodiscard]] StorageDecision decide_storage(const core::Request& request,
                                             const core::Response& response,
                                             const RouteCacheRules& rules);

// For a gRPC unary call's whole answer (its trailers in response.trailers).
[[nodiscard]] StorageDecision decide_grpc_storage(const core::Request& request,
                                                  const core::Response& response,
                                                  const RouteCacheRules& rules);

// The entry to store: the response's status, headers (without `Age`; a hit sets its own),
// frozen, body (shared, not copied) and trailers, stored_at = now - plan.initial_age.
[[nodiscard]] CachedResponse make_cached_response(const core::Response& response,
                                                  const StoragePlan& plan, TimePoint now);

}  // namespace levee::layers::cache
