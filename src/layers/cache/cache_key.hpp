#pragma once
// The keys the response cache stores under (DESIGN.md "Cache and circuit breaker"), shared by
// the memory tier and Redis, so they are plain bounded strings with a versioned prefix.
//
// - primary key: method class (GET and HEAD share one: a cached GET answers a HEAD), the
//   lower-cased Host (port kept, as the collapse key does) and the target (path + query, bytes
//   as sent). Short ones stay readable ("v1:g:<len>:<host><target>"); when host + target
//   exceed k_max_plain_key_part bytes they are replaced by their XXH3-128 ("v1:g#<hex>").
// - gRPC call key (grpc_call_key): the identity collapse gives a unary call, under a class of
//   its own ("c", never "g"): the lower-cased Host (`:authority`), the target (`:path`, the
//   service and method), and an XXH3-128 of the request message bytes and of the
//   `authorization` values (absent differs from empty), always hashed
//   ("v1:c:<len>:<host><len>:<target>#<hex>", or "v1:c#<hex>" when long). With
//   the credential in the key, a cached answer only ever reaches callers that sent the same
//   one, as with collapse's default vary list.
// - variant key: the primary key plus an XXH3-128 of the stored response's Vary names and the
//   request's values of those headers ("<primary>|v<hex>"). Without Vary it is the primary key.
//   Absent and empty headers differ; several fields of one name count in their order.
// - path key: lower-cased host + path (no query), the index erase_path uses to drop every
//   query string and variant of a path (invalidate_on_mutation).
//
// A store keeps, per primary key, the Vary list of the response it holds (as Varnish and Squid
// do), so that a lookup can compute the variant key of the request in hand.
//
// XXH3 is not a cryptographic hash: only parts longer than k_max_plain_key_part are hashed, and
// a 128-bit second preimage is what an attacker would need to poison another URL's entry.
// Pure functions, callable from any thread.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/headers.hpp"
#include "core/request.hpp"

namespace levee::layers::cache {

// The key schema's version. In Redis every key also gets [cache] redis_key_prefix ("levee:"
// by default) in front: "levee:v1:g:…".
inline constexpr std::string_view k_key_prefix = "v1:";
inline constexpr std::size_t k_max_plain_key_part = 200;
// A response that varies on more header names than this is not stored (reason vary_star).
inline constexpr std::size_t k_max_vary_names = 32;

struct CacheKey {
  std::string primary;
  std::string path;  // path_key(host, path): the erase_path index
};

// The Host field lower-cased, port kept; empty when absent.
[[nodiscard]] std::string key_host(const core::Request& request);
[[nodiscard]] std::string path_key(std::string_view host, std::string_view path);
[[nodiscard]] CacheKey primary_key(const core::Request& request);
// A gRPC unary call's primary key; `request.body` must be the whole request message.
[[nodiscard]] CacheKey grpc_call_key(const core::Request& request);
// `vary`: lower-cased, sorted, unique names (VaryNames::names).
[[nodiscard]] std::string variant_key(std::string_view primary, std::span<const std::string> vary,
                                      const core::Request& request);

struct VaryNames {
  std::vector<std::string> names;  // lower-cased, sorted, unique
  bool star = false;               // `Vary: *`, or more than k_max_vary_names names
};
// Every `Vary` field of a response.
[[nodiscard]] VaryNames parse_vary(const core::Headers& headers);

}  // namespace levee::layers::cache
