#pragma once
// The Lua scripts of fleet collapsing (docs/fleet.md) and what their replies mean. Each runs
// atomically in Redis, so one round trip decides a lease and one completes it. They are sent by
// SHA-1 (EVALSHA, redis::RedisScript).
//
// Keys, for one collapse key K (its SHA-256, hex): the lease, the shared answer, and the fencing
// counter (one for the whole fleet, never expires). The lease's value is the holder's token;
// the answer's value is "<token>\n<encoded response>".
//
// ACQUIRE asks for n keys at once: a worker's slots that ask while its previous call is out
// share the next one (FleetClient::acquire).
//   KEYS: the fence, then each ask's lease and answer (KEYS[2i], KEYS[2i+1]), then other leases
//   this client finished with; ARGV: the channel, n, then each ask's min_token, lease_ttl_ms,
//   stale_ok and K (ARGV[4i-1 .. 4i+2]), then the finished leases' tokens.
//   It first deletes each finished lease that still holds its token (releases ride along with
//   the next ask instead of costing a round trip of their own), then answers each ask in turn,
//   with an array of n of these:
//   an answer whose token >= min_token (min_token > 0)   -> {2, token, answer}   (answer; an
//     empty one is the marker a holder leaves when it keeps its answer: unshared)
//   no lease: INCR the fence, SET lease token NX PX ttl   -> {1, token}           (won)
//   a lease, stale_ok and an older answer                -> {3, holder, pttl, answer} (stale)
//   a lease                                              -> {0, holder, pttl}    (held)
//   with a lease held (held, stale) it also publishes "K <holder> w" on the channel: the holder
//   learns that someone waits, and completes at once when its call ends.
// COMPLETE (KEYS: the lease, the answer, the fence; ARGV: token, "<token>\n<answer>",
// "<token>\n" (the answer stays with its holder) or "" (none), answer_ttl_ms, channel, message):
//   writes the answer only if no answer with a newer token is there (a holder whose lease
//   expired cannot overwrite its successor's answer), deletes the lease only if it is still the
//   holder's, publishes the message                      -> {lease_was_ours, written}
// RENEW (ARGV: token, lease_ttl_ms): a holder whose call outlasts half its lease extends it,
// if it still holds it                                   -> 1 (renewed) or 0 (lost)
// RELEASE (KEYS: leases, ARGV: their tokens): deletes each lease that still holds its token
// (finished leases no ask carried away in time)          -> the number of leases

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "redis/redis_client.hpp"

namespace levee::layers::collapse::fleet {

[[nodiscard]] const redis::RedisScript& acquire_script();
[[nodiscard]] const redis::RedisScript& complete_script();
[[nodiscard]] const redis::RedisScript& renew_script();
[[nodiscard]] const redis::RedisScript& release_script();

struct Acquired {
  enum class Kind : std::uint8_t { held, won, answer, stale, unshared };
  Kind kind = Kind::held;
  std::uint64_t token = 0;  // won: ours; held, stale: the holder's; answer, unshared: the call's
  std::chrono::milliseconds lease_left{0};  // held, stale: the lease's remaining time
  std::string answer;                       // answer, stale: the encoded response
};

// nullopt: a reply of another shape (a script of another version; counted as a protocol error).
[[nodiscard]] std::optional<Acquired> parse_acquired(redis::RedisValue reply);

struct Completed {
  bool lease_was_ours = false;  // false: it had expired (and maybe been taken over) first
  bool written = false;         // the answer is the shared one now
};
[[nodiscard]] std::optional<Completed> parse_completed(const redis::RedisValue& reply);

}  // namespace levee::layers::collapse::fleet
