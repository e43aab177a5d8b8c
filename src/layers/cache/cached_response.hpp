#pragma once
// One stored answer of the response cache, as both tiers hold it: the status, headers, body
// (shared, never copied per hit) and trailers (a gRPC answer's grpc-status), when it was stored and
// how long it stays fresh, then stale (stale-while-revalidate), and the Vary names its variant key
// was computed from.
//
// Time: stored_at is on the steady clock (core::Clock), which means nothing in another process;
// encode() writes the system-clock instant instead and decode() converts it back against the
// reader's own pair of clocks, so an entry read from Redis by another instance ages correctly
// (to within the two hosts' wall-clock skew; an entry "from the future" counts as age 0).
//
// The encoding (Redis value), all integers little-endian:
//   "LVCR" u8:version(2) u16:status i64:stored_at_unix_ns u64:fresh_for_ns u64:stale_for_ns
//   u32:vary_count  { u32:len bytes }*
//   u32:header_count { u32:name_len name u32:value_len value }*
//   u64:body_len body
//   u32:trailer_count { u32:name_len name u32:value_len value }*
// Version 1 had no trailers; its entries decode as bad_version, which a lookup takes as a miss.
// decode() checks every length against the bytes left before it allocates, rejects trailing
// bytes, header names that are not tokens, values with CR/LF/NUL, statuses outside 100..999 and
// durations above k_max_stored_duration, and returns an error for any of them; it never throws
// and never allocates more than a small multiple of the input size.
//
// A CachedResponse is immutable once shared (std::shared_ptr<const CachedResponse>); its headers
// are frozen, so copies handed to callers on any thread share one buffer.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/headers.hpp"
#include "core/response.hpp"
#include "core/result.hpp"

namespace levee::layers::cache {

using Duration = std::chrono::nanoseconds;
using TimePoint = core::Clock::time_point;
using WallTimePoint = std::chrono::system_clock::time_point;

// About 31 years: longer lifetimes are clamped when encoding and refused when decoding.
inline constexpr Duration k_max_stored_duration{std::int64_t{1'000'000'000} * 1'000'000'000};

enum class Freshness : std::uint8_t {
  fresh,    // age < fresh_for: serve it
  stale,    // within stale_for after that: serve it and revalidate in the background
  expired,  // drop it
};

struct CachedResponse {
  int status = 200;
  core::Headers headers;
  core::Body body;  // null means empty
  // The trailer section (gRPC's grpc-status, grpc-message, trailing metadata); frozen.
  core::Headers trailers;
  TimePoint stored_at{};
  Duration fresh_for{0};
  Duration stale_for{0};
  std::vector<std::string> vary;  // lower-cased, sorted, unique

  // now - stored_at, never negative.
  [[nodiscard]] Duration age(TimePoint now) const noexcept;
  [[nodiscard]] Freshness freshness(TimePoint now) const noexcept;
  // The `Age` header value (RFC 9111 5.1): whole seconds, rounded down.
  [[nodiscard]] std::int64_t age_seconds(TimePoint now) const noexcept;
  // fresh_for + stale_for (saturating): how long a tier should keep it, e.g. a Redis TTL.
  [[nodiscard]] Duration retain_for() const noexcept;
  // What the memory store charges for it: body, headers, vary names and bookkeeping.
  [[nodiscard]] std::size_t byte_size() const noexcept;
};

// The response a hit answers with: the stored status, headers, body and trailers, plus `Age`.
// `head`: a HEAD request is answered without the body (the headers stay as the GET's).
[[nodiscard]] core::Response make_hit_response(const CachedResponse& cached, TimePoint now,
                                               bool head = false);

inline constexpr std::string_view k_encoding_magic = "LVCR";
inline constexpr std::uint8_t k_encoding_version = 2;

[[nodiscard]] std::string encode(const CachedResponse& cached, TimePoint now,
                                 WallTimePoint wall_now);

enum class DecodeError : std::uint8_t {
  truncated,       // a length or count runs past the end
  bad_magic,       // not an encoded CachedResponse
  bad_version,     // written by another version of levee
  bad_field,       // a status, duration, header name or value out of range
  trailing_bytes,  // bytes after the trailers
};
[[nodiscard]] std::string_view to_string(DecodeError error) noexcept;

[[nodiscard]] core::Result<CachedResponse, DecodeError> decode(std::string_view bytes,
                                                               TimePoint now,
                                                               WallTimePoint wall_now);

}  // namespace levee::layers::cache
