#pragma once
// What a fleet holder's answer may become for the other instances (docs/fleet.md): whether it
// may be shared at all, and its encoding in Redis (the response cache's, cached_response.hpp,
// so one decoder with its bounds checks reads both). Pure functions, callable from any thread.
//
// Not shared (it stays with the holder's own members; the other instances call on their own):
//   set_cookie   the answer sets a cookie (a session must never cross clients);
//   no_store     Cache-Control no-store;
//   private      Cache-Control private;
//   status       a status the cache would not store (storability.hpp), and every answer levee
//                made itself for want of an upstream one (shed, breaker, 502/504);
//   too_large    body over the route's fleet_max_bytes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/response.hpp"

namespace levee::layers::collapse::fleet {

enum class Unshared : std::uint8_t { set_cookie, no_store, private_, status, too_large };
inline constexpr std::size_t k_unshared_reasons = 5;
[[nodiscard]] std::string_view to_string(Unshared reason) noexcept;

[[nodiscard]] std::optional<Unshared> unshared_reason(const core::Response& answer,
                                                      std::uint64_t max_bytes);

// The answer (status, headers, whole body, trailers) as stored in Redis.
[[nodiscard]] std::string encode_answer(const core::Response& answer);
// nullopt: not a valid encoding (another version of levee, or corrupt): the reader calls on its
// own.
[[nodiscard]] std::optional<core::Response> decode_answer(std::string_view bytes);

}  // namespace levee::layers::collapse::fleet
