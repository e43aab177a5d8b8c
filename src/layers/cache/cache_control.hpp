#pragma once
// Cache-Control (RFC 9111 5.2) as the response cache reads it: the directives a shared cache
// acts on, parsed from one field value or from every Cache-Control field of a header list.
// Pure functions, callable from any thread; never throws, never allocates per directive.
//
// Tolerance: names are case-insensitive; whitespace around ',' and '=' is skipped; empty list
// elements and unknown directives are ignored; arguments may be tokens or quoted strings (a
// comma inside quotes does not split). Several fields (or several values passed one after the
// other to merge_cache_control) combine as one list, as RFC 9110 5.3 says.
//
// Conservative choices (RFC 9111 4.2.1 "caches are encouraged to consider responses that have
// invalid freshness information to be stale"):
// - max-age / s-maxage with a missing, non-numeric, negative or otherwise malformed argument
//   count as 0 (stale at once), and so does the same directive given twice with different
//   values. A value above 2^31 is clamped to 2^31 (RFC 9111 1.2.2).
// - stale-while-revalidate (RFC 5861) malformed counts as 0 (no stale serving); given twice,
//   the smaller value wins.
// - The qualified forms `private="Set-Cookie"` and `no-cache="X"` count as the unqualified
//   directive: this cache does not strip fields, so it refuses or revalidates the whole response.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/headers.hpp"

namespace levee::layers::cache {

struct CacheControl {
  bool no_store = false;
  bool no_cache = false;
  bool private_ = false;
  bool public_ = false;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  std::optional<std::chrono::seconds> max_age;
  std::optional<std::chrono::seconds> s_maxage;
  std::optional<std::chrono::seconds> stale_while_revalidate;
};

// RFC 9111 1.2.2: the largest delta-seconds a cache needs to represent.
inline constexpr std::chrono::seconds k_max_delta_seconds{std::int64_t{1} << 31};

// Adds the directives of one field value to `into`.
void merge_cache_control(CacheControl& into, std::string_view value) noexcept;

[[nodiscard]] CacheControl parse_cache_control(std::string_view value) noexcept;

// Every `Cache-Control` field of `headers`, in order.
[[nodiscard]] CacheControl parse_cache_control(const core::Headers& headers) noexcept;

// RFC 9111 1.2.2 delta-seconds: one or more digits, clamped to k_max_delta_seconds; nullopt when
// `text` is empty or holds anything but digits. Also reads the `Age` field value.
[[nodiscard]] std::optional<std::chrono::seconds> parse_delta_seconds(
    std::string_view text) noexcept;

}  // namespace levee::layers::cache
