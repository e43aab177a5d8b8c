#pragma once
// One worker's connection to the fleet (docs/fleet.md): a command client that runs the lease
// scripts (lease_scripts.hpp) and a subscriber that hears every holder's completion on one
// channel. A waiting slot watches its key first, then asks for the lease, so a completion that
// arrives between the two is never missed.
//
// Completion messages: "<key> <token> <kind>", kind `s` (the answer is in Redis), `l` (the
// answer must stay with its holder: the others call on their own) or `a` (the holder gave up
// without an answer: the next one may take the lease over at once).
//
// Threading: built, used and destroyed on its worker's thread (or before it runs). Detached
// completions hold a shared_ptr to the client, so it lives until they end.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "layers/collapse/fleet/lease_scripts.hpp"
#include "redis/redis_client.hpp"

namespace levee::layers::collapse::fleet {

// What the channel said about a key, the newest token first.
struct Completion {
  enum class Kind : std::uint8_t { none, shared, local, abandoned };
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
  // `settings`: [cache]'s Redis (proxy::make_redis_settings); two connections are opened.
  FleetClient(const boost::asio::any_io_executor& executor, const redis::RedisSettings& settings);
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

   private:
    std::shared_ptr<FleetClient> client_;
    std::string key_;
  };

  [[nodiscard]] boost::asio::awaitable<redis::RedisResult<Acquired>> acquire(
      const std::string& key, std::uint64_t min_token, std::chrono::milliseconds lease_ttl,
      bool stale_ok);

  // Extends the lease to lease_ttl from now if `token` still holds it: true; false if it is lost.
  [[nodiscard]] boost::asio::awaitable<redis::RedisResult<bool>> renew(
      const std::string& key, std::uint64_t token, std::chrono::milliseconds lease_ttl);

  // Detached: writes `answer` (if not empty) token-checked, releases the lease if still ours,
  // publishes the completion; `done` gets the outcome (nullopt: Redis failed) on this thread.
  using CompleteDone = std::function<void(const redis::RedisResult<Completed>&)>;
  void complete(std::string key, Completion completion, std::string answer,
                std::chrono::milliseconds answer_ttl, CompleteDone done);

  // Subscribed on the current connection: completions are being heard.
  [[nodiscard]] bool listening() const noexcept { return events_.subscribed(); }
  [[nodiscard]] const boost::asio::any_io_executor& executor() const noexcept { return executor_; }
  void shutdown() noexcept;

 private:
  struct Interest {
    Completion newest;
    std::size_t watches = 0;
    std::vector<boost::asio::steady_timer*> waiting;
  };

  void heard(std::string_view payload);
  [[nodiscard]] static std::vector<std::string> keys_of(const std::string& key);
  [[nodiscard]] static boost::asio::awaitable<void> run_complete(
      std::shared_ptr<FleetClient> self, std::string key, Completion completion, std::string answer,
      std::chrono::milliseconds answer_ttl, CompleteDone done);

  boost::asio::any_io_executor executor_;
  redis::RedisClient commands_;
  redis::RedisClient events_;
  // Transparent: a channel message's key is looked up as a view, without a copy.
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const noexcept {
      return std::hash<std::string_view>{}(key);
    }
  };
  std::unordered_map<std::string, Interest, KeyHash, std::equal_to<>> interests_;
};

}  // namespace levee::layers::collapse::fleet
