#pragma once
// One worker's connection to the fleet (docs/fleet.md): a command client that runs the lease
// scripts (lease_scripts.hpp) and a subscriber that hears every holder's completion on one
// channel. A waiting slot watches its key first, then asks for the lease, so a completion that
// arrives between the two is never missed.
//
// Channel messages: "<key> <token> <kind>", kind `s` (the answer is in Redis), `l` (the answer
// must stay with its holder: the others call on their own), `a` (the holder gave up without an
// answer: the next one may take the lease over at once), or `w` (published by the acquire
// script: an instance waits for the holder of <token>).
//
// The holder's side (hold / finish, fleet_holder.cpp): a lease is completed in Redis only if
// somebody waited for it. A lease nobody asked about while its call ran costs nothing after
// the call: its release rides along with this client's next acquire (or, with none within
// release_delay, goes in a batch of its own), and its answer is kept for the route's
// fleet_wait, so that an instance whose ask crossed the call's end (its `w` arrives after the
// end) still gets it. So a key that never repeats costs one round trip.
//
// Threading: built, used and destroyed on its worker's thread (or before it runs). Detached
// commands hold a shared_ptr to the client, so it lives until they end.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/response.hpp"
#include "layers/collapse/fleet/fleet_rules.hpp"
#include "layers/collapse/fleet/lease_scripts.hpp"
#include "redis/redis_client.hpp"

namespace levee::layers::collapse::fleet {

// What the channel said about a key, the newest token first.
struct Completion {
  enum class Kind : std::uint8_t { none, shared, local, abandoned, waiting };
  Kind kind = Kind::none;
  std::uint64_t token = 0;
};

// The lease key of a collapse key: the SHA-256 (hex) of the route, the upstream and the key, so
// that no two routes and no two requests share a lease or an answer, and no credential in the
// key is written to Redis.
[[nodiscard]] std::string lease_key(std::string_view route, std::string_view upstream,
                                    std::string_view collapse_key);

// The channel payload, and back (nullopt: not one of ours).
[[nodiscard]] std::string completion_message(std::string_view key, const Completion& completion);
struct ParsedCompletion {
  std::string_view key;
  Completion completion;
};
[[nodiscard]] std::optional<ParsedCompletion> parse_completion(std::string_view payload);

class FleetClient : public std::enable_shared_from_this<FleetClient> {
 public:
  // How long a finished lease's release waits for an acquire to carry it.
  static constexpr std::chrono::milliseconds k_release_delay{5};
  // Bounds: answers kept after quiet finishes (beyond: a late waiter is told to take the lease
  // over), leases kept (beyond: the oldest is forgotten), and releases waiting to be sent
  // (beyond: the oldest are left to expire).
  static constexpr std::size_t k_max_kept_bytes = std::size_t{16} << 20;
  static constexpr std::size_t k_max_kept_leases = 65536;
  static constexpr std::size_t k_max_queued_releases = 65536;
  static constexpr std::size_t k_release_batch = 64;  // leases a release script takes
  static constexpr unsigned k_release_attempts = 3;

  // `settings`: [cache]'s Redis (proxy::make_redis_settings); two connections are opened.
  FleetClient(const boost::asio::any_io_executor& executor, const redis::RedisSettings& settings,
              std::chrono::milliseconds release_delay = k_release_delay);
  ~FleetClient();
  FleetClient(const FleetClient&) = delete;
  FleetClient& operator=(const FleetClient&) = delete;

  // Interest in one key's completions, from construction to destruction.
  class Watch {
   public:
    Watch(std::shared_ptr<FleetClient> client, std::string key);
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    // The newest completion with a token >= min_token, waiting for it until `until`; kind none
    // when the time ran out (or the wait was cancelled).
    [[nodiscard]] boost::asio::awaitable<Completion> wait(
        std::uint64_t min_token, std::chrono::steady_clock::time_point until);
    // An instance has asked for the key while `token` held its lease (heard as a `w`).
    [[nodiscard]] bool waited_for(std::uint64_t token) const;

   private:
    std::shared_ptr<FleetClient> client_;
    std::string key_;
  };

  // One round trip for the asker, shared: asks made while this client's previous acquire
  // script is out wait for it to return, then go together in the next one (up to
  // k_asks_per_script; Nagle's rule, as Redis clients' auto-pipelining does), which also
  // carries up to k_releases_per_script queued releases (see above). So under load a worker
  // sends one script per round trip, not one per slot. Fails at once with `overloaded` beyond
  // k_max_queued_asks waiting asks, and with `cancelled` if the asking coroutine is cancelled
  // (a lease its ask wins anyway is released).
  [[nodiscard]] boost::asio::awaitable<redis::RedisResult<Acquired>> acquire(
      std::string key, std::uint64_t min_token, std::chrono::milliseconds lease_ttl, bool stale_ok);
  static constexpr std::size_t k_asks_per_script = 64;
  static constexpr std::size_t k_scripts_in_flight = 2;
  static constexpr std::size_t k_releases_per_script = 64;
  static constexpr std::size_t k_max_queued_asks = 65536;
  // Acquire scripts sent, and the asks they carried (tests).
  [[nodiscard]] std::uint64_t acquire_scripts() const noexcept { return acquire_scripts_; }
  [[nodiscard]] std::uint64_t asks() const noexcept { return asks_sent_; }

  // Extends the lease to lease_ttl from now if `token` still holds it: true; false if it is lost.
  [[nodiscard]] boost::asio::awaitable<redis::RedisResult<bool>> renew(
      std::string key, std::uint64_t token, std::chrono::milliseconds lease_ttl);

  // Detached: writes `answer` (if not empty) token-checked, releases the lease if still ours,
  // publishes the completion; `done` gets the outcome (nullopt: Redis failed) on this thread.
  using CompleteDone = std::function<void(const redis::RedisResult<Completed>&)>;
  void complete(std::string key, Completion completion, std::string answer,
                std::chrono::milliseconds answer_ttl, CompleteDone done);

  // The holder's side, from the won lease to its end (fleet_holder.cpp). While held, the lease
  // is renewed every lease_ttl / 2. finish() with the call's answer (nullopt: the call ended
  // without one): completes the lease at once if an instance waits for it (or the route serves
  // stale answers, which must be in Redis), else releases it quietly as described above.
  // `waited`: a `w` for this token came before the lease was known to be ours
  // (Watch::waited_for).
  void hold(const std::string& key, std::uint64_t token, std::shared_ptr<const FleetRules> rules,
            std::shared_ptr<FleetCounters> counters, bool waited);
  void finish(const std::string& key, std::uint64_t token, std::optional<core::Response> answer);
  // Before shutdown (drain done): sends every queued release and waits for the replies
  // (each within [cache] redis_timeout), so that no lease this worker finished lingers in
  // Redis for other instances to wait on.
  [[nodiscard]] boost::asio::awaitable<void> release_all();

  // Leases held, leases kept after a quiet finish, releases not yet sent (tests).
  [[nodiscard]] std::size_t held() const noexcept { return held_.size(); }
  [[nodiscard]] std::size_t kept() const noexcept { return kept_.size(); }
  [[nodiscard]] std::size_t releases_queued() const noexcept { return releases_.size(); }

  // Subscribed on the current connection: completions are being heard.
  [[nodiscard]] bool listening() const noexcept { return events_.subscribed(); }
  [[nodiscard]] const boost::asio::any_io_executor& executor() const noexcept { return executor_; }
  void shutdown() noexcept;

 private:
  struct Interest {
    Completion newest;
    std::uint64_t waiting_for = 0;  // the newest holder token a `w` named
    std::size_t watches = 0;
    std::vector<boost::asio::steady_timer*> waiting;
  };

  // A lease this client won: running (held_), or finished quietly and kept for fleet_wait
  // (kept_). Both are keyed by the lease's token, which the fence makes unique in the fleet.
  struct Held {
    std::string key;
    std::shared_ptr<const FleetRules> rules;
    std::shared_ptr<FleetCounters> counters;
    std::chrono::steady_clock::time_point due;  // running: next renewal; kept: forget it
    bool waited = false;                        // an instance asked while it ran
    bool lost = false;                          // a renewal found it gone (counted as expired once)
    bool completed = false;                     // kept, and completed since for a late waiter
    Completion::Kind kind = Completion::Kind::abandoned;  // kept
    std::optional<core::Response> answer;                 // kept, shared
    std::size_t kept_bytes = 0;
  };
  struct KeptUntil {
    std::uint64_t token;  // a kept_ key
    std::chrono::steady_clock::time_point due;
  };

  struct Release {
    std::string key;
    std::uint64_t token = 0;
    std::chrono::steady_clock::time_point queued;
    unsigned attempts = 0;  // sends that failed (a Redis error); dropped after k_release_attempts
    std::shared_ptr<FleetCounters> counters;  // the lease's route (null: a cancelled ask's)
  };

  // One slot's acquire, from its queueing to its answer. The asking coroutine owns it with the
  // batch that carries it; the timer doubles as the wake-up (cancelled with the outcome set),
  // so the asker resumes through the executor, never inline in the batch's loop.
  struct Ask {
    explicit Ask(const boost::asio::any_io_executor& executor) : wake(executor) {}
    std::string key;
    std::uint64_t min_token = 0;
    std::string lease_ttl_ms;
    bool stale_ok = false;
    boost::asio::steady_timer wake;
    std::optional<redis::RedisResult<Acquired>> outcome;
    bool gone = false;  // the asker stopped waiting (cancelled)
  };
  // Sends the queued asks, a script at a time, until none is left (one runs at a time).
  [[nodiscard]] static boost::asio::awaitable<void> run_asks(std::shared_ptr<FleetClient> self);
  void answer_ask(Ask& ask, redis::RedisResult<Acquired> outcome);

  void heard(std::string_view payload);
  // A `w` for the lease `token` of `key`.
  void waiter_heard(std::string_view key, std::uint64_t token);
  [[nodiscard]] static std::vector<std::string> keys_of(const std::string& key);
  [[nodiscard]] static boost::asio::awaitable<void> run_complete(
      std::shared_ptr<FleetClient> self, std::string key, Completion completion, std::string answer,
      std::chrono::milliseconds answer_ttl, CompleteDone done);
  // Completes a held lease in Redis (answer written if shared, waiters told).
  void complete_held(std::uint64_t token, Completion::Kind kind,
                     const std::optional<core::Response>& answer, const Held& held,
                     bool count_lost_lease);
  void queue_release(std::string key, std::uint64_t token,
                     std::shared_ptr<FleetCounters> held_counters);
  struct ReleaseBatch {
    std::vector<std::string> keys;
    std::vector<std::string> tokens;
    std::vector<Release> taken;  // queued again if the send fails
  };
  // Adds `batch` to the keys and arguments of a script that releases its leases.
  void take_into(std::size_t at_most, std::chrono::steady_clock::time_point until,
                 ReleaseBatch& batch);
  // A send that failed: its releases are queued again at the front, up to k_release_attempts
  // sends each (a lease left over expires by itself).
  void requeue(std::vector<Release> failed);
  [[nodiscard]] ReleaseBatch take_releases(std::chrono::steady_clock::time_point until);
  void flush_releases();
  // A timer armed for the earliest time asked of it: `at` is when it fires, max() when idle.
  struct Alarm {
    explicit Alarm(const boost::asio::any_io_executor& executor) : timer(executor) {}
    boost::asio::steady_timer timer;
    std::chrono::steady_clock::time_point at = std::chrono::steady_clock::time_point::max();
  };
  // Makes `alarm` fire `fire` at `at` unless it already fires sooner.
  void arm(Alarm& alarm, std::chrono::steady_clock::time_point at, void (FleetClient::*fire)());
  void holder_tick();
  void forget_kept(std::chrono::steady_clock::time_point now);
  void forget_oldest_kept();

  boost::asio::any_io_executor executor_;
  redis::RedisClient commands_;
  redis::RedisClient events_;
  std::chrono::milliseconds release_delay_;
  const std::string channel_;  // as the scripts publish to it: key_prefix + "fleet:done"
  // Transparent: a channel message's key is looked up as a view, without a copy.
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const noexcept {
      return std::hash<std::string_view>{}(key);
    }
  };
  std::unordered_map<std::string, Interest, KeyHash, std::equal_to<>> interests_;
  std::unordered_map<std::uint64_t, Held> held_;
  std::unordered_map<std::uint64_t, Held> kept_;
  std::deque<KeptUntil> kept_order_;  // finish order; only the holder tick erases from kept_
  std::size_t kept_bytes_ = 0;        // kept answers, at most k_max_kept_bytes
  std::deque<Release> releases_;
  std::deque<std::shared_ptr<Ask>> asks_;  // not sent yet
  std::size_t asking_ = 0;                 // run_asks running (asks_ empty if none)
  std::uint64_t acquire_scripts_ = 0;
  std::uint64_t asks_sent_ = 0;
  Alarm release_alarm_;  // releases no acquire carried
  Alarm holder_alarm_;   // renewals and kept leases' ends
  bool closed_ = false;
};

}  // namespace levee::layers::collapse::fleet
