#pragma once
// RedisClient: a non-blocking client for the shared Redis tier of the response cache, one per
// worker, driven by that worker's io_context through hiredis's async API (asio_adapter.hpp).
//
// Threading: construct, call, and destroy the client on the thread that runs the executor's
// io_context; nothing here is thread-safe and nothing ever blocks that thread. `host` and
// each sentinel's host must be IP literals (a name would need a blocking resolver); the
// constructor throws std::invalid_argument otherwise (start-up only), or when sentinels come
// without a master_name. The process must ignore SIGPIPE (levee's main does): hiredis writes with
// write(2), which raises it on a connection the peer reset.
//
// Sentinel: with `sentinels` set, each connect attempt first asks them for the primary's
// address (bounded by connect_timeout per sentinel, never blocking), then connects there. A
// reply starting with READONLY means the node was demoted to a replica: the client drops the
// connection (commands fail with `not_connected` from then on) and asks the sentinels again.
//
// Connection: the constructor starts connecting at once; a connect that has not finished
// within `connect_timeout` is abandoned. While the client is not connected, every command
// fails immediately with `not_connected` (nothing is queued while Redis is down), and the
// client reconnects in the background, waiting reconnect_backoff_min, doubling up to
// reconnect_backoff_max, back to min after a success.
//
// Commands: each one completes within `command_timeout`: when it fires the awaiting coroutine
// resumes with `timeout` at once and the late reply, if one comes, is dropped. At most
// `max_pending` commands are in flight on the connection; a command beyond that fails at once
// with `overloaded`. A timed-out command stays in flight until its reply (or the connection's
// end) arrives, so a Redis that stopped answering turns into fast `overloaded` failures, not
// into memory growth. Every key gets `key_prefix` in front of it. Values are binary-safe.
//
// Cancellation: a command whose awaiting coroutine is cancelled (per-operation cancellation,
// e.g. an awaitable operator ||) resumes with `cancelled`; a coroutine frame destroyed while
// it waits leaves nothing behind that its reply could touch.
//
// Ownership: the client owns the connection. shutdown() (also run by the destructor) frees
// it: every command still awaiting resumes with `not_connected` (posted, never inline), and
// no reconnect follows. A coroutine suspended in a command keeps the client's internals
// alive until it resumes, so destroying the client with commands outstanding is safe; the
// io_context must outlive the client and be run for those coroutines to finish.

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace levee::redis {

using Duration = std::chrono::steady_clock::duration;

// One Redis node or sentinel: an IP literal and a port.
struct RedisAddress {
  std::string host;
  std::uint16_t port = 0;
  [[nodiscard]] std::string to_string() const { return host + ":" + std::to_string(port); }
  bool operator==(const RedisAddress&) const = default;
};

struct RedisSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  // When not empty, host and port are ignored: before each connect the client asks these
  // sentinels in turn where the primary named `master_name` is (sentinel_discovery.hpp).
  std::vector<RedisAddress> sentinels;
  std::string master_name;
  Duration connect_timeout = std::chrono::milliseconds(200);
  Duration command_timeout = std::chrono::milliseconds(50);
  std::size_t max_pending = 1024;  // commands in flight; beyond: fail fast with `overloaded`
  Duration reconnect_backoff_min = std::chrono::milliseconds(100);
  Duration reconnect_backoff_max = std::chrono::seconds(5);
  std::string key_prefix;  // prepended to every key
};

enum class RedisErrorKind : std::uint8_t {
  not_connected,  // down, connecting, lost while the command was in flight, or shut down
  timeout,        // no reply within command_timeout
  overloaded,     // max_pending commands already in flight
  protocol,       // a reply of an unexpected type, or a stream hiredis could not parse
  server_error,   // Redis answered with an error reply (WRONGTYPE, OOM, ...)
  cancelled,      // the awaiting coroutine was cancelled
};
inline constexpr std::size_t redis_error_kind_count = 6;

[[nodiscard]] std::string_view to_string(RedisErrorKind kind) noexcept;

struct RedisError {
  RedisErrorKind kind;
  std::string message;
};

namespace detail {
template <class T>
struct ResultFor {
  using type = core::Result<T, RedisError>;
};
template <>
struct ResultFor<void> {
  using type = core::Result<std::monostate, RedisError>;
};
}  // namespace detail

// RedisResult<void> carries std::monostate as its value: check ok() / error().
template <class T>
using RedisResult = typename detail::ResultFor<T>::type;

// A reply of EVAL, copied out of hiredis (a Lua script's table is an array, a number an integer,
// false a nil).
struct RedisValue {
  enum class Type : std::uint8_t { nil, integer, string, status, array };
  Type type = Type::nil;
  long long integer = 0;
  std::string text;  // string and status
  std::vector<RedisValue> elements;
};

// A Lua script sent by its SHA-1 (EVALSHA), so that a call carries 40 bytes instead of the
// script and Redis hashes nothing; sent in full (EVAL) only when the server answers NOSCRIPT (a
// fresh or restarted Redis, SCRIPT FLUSH). Build it once: it must outlive every eval() of it.
class RedisScript {
 public:
  explicit RedisScript(std::string text);
  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  [[nodiscard]] const std::string& sha1() const noexcept { return sha1_; }

 private:
  std::string text_;
  std::string sha1_;  // lower-case hex, as SCRIPT LOAD returns it
};

// Plain counters, read on the client's thread (the metrics layer maps them to Prometheus).
struct RedisStats {
  std::uint64_t commands_sent = 0;     // handed to the connection
  std::uint64_t replies = 0;           // replies that reached their awaiting command
  std::uint64_t late_replies = 0;      // replies dropped: their command had already ended
  std::uint64_t connects = 0;          // connections established, the first one included
  std::uint64_t reconnects = 0;        // connections established after an earlier one ended
  std::uint64_t connect_failures = 0;  // attempts refused, failed or over connect_timeout
  std::uint64_t disconnects = 0;       // established connections lost (not shutdown())

  // With sentinels only.
  std::uint64_t demotions = 0;           // connections dropped: the node answered READONLY
  std::uint64_t discovery_failures = 0;  // attempts for which no sentinel named a primary

  std::array<std::uint64_t, redis_error_kind_count> errors{};  // by RedisErrorKind

  [[nodiscard]] std::uint64_t errors_of(RedisErrorKind kind) const noexcept {
    return errors[static_cast<std::size_t>(kind)];
  }
};

class RedisClient {
 public:
  RedisClient(boost::asio::any_io_executor executor, RedisSettings settings);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // GET: the value, or std::nullopt when the key does not exist.
  [[nodiscard]] boost::asio::awaitable<RedisResult<std::optional<std::string>>> get(
      std::string key);
  // SET key value PX ttl. `ttl` must be positive.
  [[nodiscard]] boost::asio::awaitable<RedisResult<void>> set(std::string key, std::string value,
                                                              std::chrono::milliseconds ttl);
  // DEL key; succeeds whether or not the key existed.
  [[nodiscard]] boost::asio::awaitable<RedisResult<void>> del(std::string key);
  // EVALSHA sha numkeys keys... args... (EVAL with the script, once, on NOSCRIPT): every key
  // gets key_prefix, the arguments do not. An error raised by the script is a server_error.
  [[nodiscard]] boost::asio::awaitable<RedisResult<RedisValue>> eval(const RedisScript& script,
                                                                     std::vector<std::string> keys,
                                                                     std::vector<std::string> args);

  // Subscriber mode: SUBSCRIBE key_prefix + channel now if connected, and again after every
  // reconnect. `on_message` gets each message's payload, inline on the client's thread; it
  // must not call into this client. Once a client subscribes, its connection is in RESP2's
  // subscribed state: use a second client for commands.
  void subscribe(std::string channel, std::function<void(std::string_view)> on_message);
  // Subscribed (SUBSCRIBE confirmed) on the current connection: messages are arriving.
  [[nodiscard]] bool subscribed() const noexcept;

  [[nodiscard]] bool connected() const noexcept;
  [[nodiscard]] std::size_t in_flight() const noexcept;
  [[nodiscard]] const RedisStats& stats() const noexcept;
  [[nodiscard]] const RedisSettings& settings() const noexcept;

  // Disconnects for good (idempotent); see the ownership note above.
  void shutdown() noexcept;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace levee::redis
