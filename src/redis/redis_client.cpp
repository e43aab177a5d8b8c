#include "redis/redis_client.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <list>
#include <span>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "core/hex.hpp"
#include "redis/asio_adapter.hpp"
#include "redis/sentinel_discovery.hpp"

namespace levee::redis {

std::string_view to_string(RedisErrorKind kind) noexcept {
  switch (kind) {
    case RedisErrorKind::not_connected:
      return "not_connected";
    case RedisErrorKind::timeout:
      return "timeout";
    case RedisErrorKind::overloaded:
      return "overloaded";
    case RedisErrorKind::protocol:
      return "protocol";
    case RedisErrorKind::server_error:
      return "server_error";
    case RedisErrorKind::cancelled:
      return "cancelled";
  }
  return "unknown";
}

namespace {

// A reply copied out of hiredis's buffers (they are freed when the reply callback returns).
// A reply copied out of hiredis once: its hiredis type (REDIS_REPLY_*, ERROR included) and its
// value as eval() hands it out (an ERROR's message in value.text).
struct Reply {
  int type = 0;
  RedisValue value;
};

RedisValue copy_value(const redisReply& reply) {
  RedisValue value;
  switch (reply.type) {
    case REDIS_REPLY_INTEGER:
      value.type = RedisValue::Type::integer;
      value.integer = reply.integer;
      break;
    case REDIS_REPLY_STRING:
      value.type = RedisValue::Type::string;
      break;
    case REDIS_REPLY_STATUS:
      value.type = RedisValue::Type::status;
      break;
    case REDIS_REPLY_ARRAY:
      value.type = RedisValue::Type::array;
      value.elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i) {
        value.elements.push_back(copy_value(*reply.element[i]));
      }
      break;
    default:
      break;  // nil, and an ERROR's message below
  }
  if (reply.str != nullptr) value.text.assign(reply.str, reply.len);
  return value;
}

using RawResult = core::Result<Reply, RedisError>;

// One command's meeting point between its hiredis callback and its awaiting coroutine. The
// coroutine frame owns it; the callback holds a weak reference, so a reply that comes after
// the frame is gone finds nothing to write to. The timer doubles as the wake-up: the callback
// stores the outcome and cancels the wait, so the coroutine resumes through the executor,
// never inline inside hiredis.
struct Op {
  explicit Op(const boost::asio::any_io_executor& executor) : timer(executor) {}
  boost::asio::steady_timer timer;
  std::optional<RawResult> outcome;
  bool ended = false;  // the coroutine stopped waiting (timeout, cancellation)
};

// hiredis's privdata for one command: allocated when the command is queued, deleted by the
// reply callback, which hiredis runs exactly once per queued command (with the reply, or with
// NULL when the context is freed).
struct PendingCommand {
  std::weak_ptr<Op> op;
};

enum class Verb : std::uint8_t { get, set, del, eval };

struct Command {
  Verb verb;
  std::string key;
  std::string value;
  long long ttl_ms = 0;
  // eval: EVALSHA, or EVAL with the script's text when the server does not know it.
  const RedisScript* script = nullptr;
  bool full_text = false;
  std::vector<std::string> keys;  // not prefixed yet
  std::vector<std::string> args;
};

// `value` in decimal, written into `digits`.
std::string_view decimal(std::size_t value, std::array<char, 24>& digits) {
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
  return {digits.data(), static_cast<std::size_t>(end - digits.data())};
}

void append_length(std::string& out, char kind, std::size_t length) {
  std::array<char, 24> digits{};
  out += kind;
  out += decimal(length, digits);
  out += "\r\n";
}

void append_bulk(std::string& out, std::string_view prefix, std::string_view text) {
  append_length(out, '$', prefix.size() + text.size());
  out += prefix;
  out += text;
  out += "\r\n";
}

// EVAL/EVALSHA in Redis's protocol, written once into one buffer: the keys get the prefix on the
// way, and nothing goes through hiredis's per-argument formatting (its sdscatfmt was the largest
// part of a fleet ask's cost in levee).
std::string format_eval(const Command& command, std::string_view key_prefix) {
  std::size_t size = 64 + command.script->sha1().size();
  if (command.full_text) size += command.script->text().size();
  for (const std::string& key : command.keys) size += 16 + key_prefix.size() + key.size();
  for (const std::string& arg : command.args) size += 16 + arg.size();
  std::string out;
  out.reserve(size);
  append_length(out, '*', 3 + command.keys.size() + command.args.size());
  append_bulk(out, {}, command.full_text ? "EVAL" : "EVALSHA");
  append_bulk(out, {}, command.full_text ? command.script->text() : command.script->sha1());
  std::array<char, 24> digits{};
  append_bulk(out, {}, decimal(command.keys.size(), digits));
  for (const std::string& key : command.keys) append_bulk(out, key_prefix, key);
  for (const std::string& arg : command.args) append_bulk(out, {}, arg);
  return out;
}

// One SUBSCRIBE of a subscriber client, kept for the client's life and sent again after every
// reconnect; hiredis's privdata for its messages (std::list: the address never moves).
struct Subscription {
  std::string channel;  // prefixed
  std::function<void(std::string_view)> on_message;
  bool confirmed = false;  // on the current connection
};

}  // namespace

class RedisClient::Impl : public std::enable_shared_from_this<RedisClient::Impl> {
 public:
  Impl(boost::asio::any_io_executor executor, RedisSettings settings)
      : executor_(std::move(executor)),
        settings_(std::move(settings)),
        target_{settings_.host, settings_.port},
        backoff_(settings_.reconnect_backoff_min),
        connect_deadline_(executor_),
        retry_timer_(executor_) {
    if (!settings_.sentinels.empty()) {
      discovery_ = std::make_shared<SentinelDiscovery>(
          executor_, settings_.sentinels, settings_.master_name, settings_.connect_timeout);
    }
  }

  ~Impl() { close(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  [[nodiscard]] const boost::asio::any_io_executor& executor() const noexcept { return executor_; }
  [[nodiscard]] const RedisSettings& settings() const noexcept { return settings_; }
  [[nodiscard]] const RedisStats& stats() const noexcept { return stats_; }
  [[nodiscard]] bool connected() const noexcept { return connected_; }
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }

  [[nodiscard]] std::string prefixed(std::string key) const {
    if (settings_.key_prefix.empty()) return key;
    return settings_.key_prefix + key;
  }

  // Counts the error once, where it is decided.
  [[nodiscard]] RedisError fail(RedisErrorKind kind, std::string message) {
    ++stats_.errors[static_cast<std::size_t>(kind)];
    return RedisError{kind, std::move(message)};
  }

  void connect();
  void close() noexcept;

  // Why a command cannot be sent right now, if it cannot.
  [[nodiscard]] std::optional<RedisError> refuse();
  // Queues the command on the connection; on success its reply will reach `op`.
  [[nodiscard]] std::optional<RedisError> send(const Command& command,
                                               const std::shared_ptr<Op>& op);

  void subscribe(std::string channel, std::function<void(std::string_view)> on_message);
  [[nodiscard]] bool subscribed() const noexcept {
    return connected_ && !subscriptions_.empty() &&
           std::all_of(subscriptions_.begin(), subscriptions_.end(),
                       [](const Subscription& s) { return s.confirmed; });
  }

 private:
  static void on_connect(const redisAsyncContext* context, int status);
  static void on_disconnect(const redisAsyncContext* context, int status);
  static void on_reply(redisAsyncContext* context, void* reply, void* privdata);
  static void on_message(redisAsyncContext* context, void* reply, void* privdata);
  void send_subscribe(Subscription& subscription);

  void connect_to_target();
  void discover_then_connect();
  static boost::asio::awaitable<void> run_discovery(std::shared_ptr<SentinelDiscovery> discovery,
                                                    std::weak_ptr<Impl> weak);
  void discovered(DiscoveryResult result);
  void demoted(std::uint64_t attempt);
  [[nodiscard]] std::string target_name() const;
  void established();
  void connect_failed(std::string_view why);
  void connect_timed_out(std::uint64_t attempt);
  void lost(const char* why);
  void reply_arrived(const PendingCommand& pending, const redisReply* reply, int context_error,
                     const char* context_errstr);
  void schedule_retry();

  boost::asio::any_io_executor executor_;
  const RedisSettings settings_;
  // The live context (connecting or connected), or null. Freed only by close(), by the connect
  // deadline, or by hiredis itself (on an I/O or protocol error, through on_connect /
  // on_disconnect, which clear this first).
  redisAsyncContext* context_ = nullptr;
  bool connected_ = false;
  bool closed_ = false;
  // With sentinels: the one asking them (null without), whether it is asking now, and whether
  // it has named a primary yet (target_ holds it then).
  std::shared_ptr<SentinelDiscovery> discovery_;
  bool discovering_ = false;
  bool discovered_ = false;
  RedisAddress target_;  // the node connected to or connecting to
  bool ever_connected_ = false;
  bool failing_ = false;       // the last attempt failed; log only the first of a streak
  std::uint64_t attempt_ = 0;  // generation of the latest connect attempt
  Duration backoff_;
  std::size_t in_flight_ = 0;  // commands queued on context_ whose callback has not run
  RedisStats stats_;
  boost::asio::steady_timer connect_deadline_;
  boost::asio::steady_timer retry_timer_;
  std::list<Subscription> subscriptions_;
};

void RedisClient::Impl::connect() {
  if (closed_ || context_ != nullptr || discovering_) return;
  if (discovery_) {
    discover_then_connect();
  } else {
    connect_to_target();
  }
}

void RedisClient::Impl::discover_then_connect() {
  discovering_ = true;
  // The io_context owns the frame. It holds the discovery (alive while it asks) and only a
  // weak reference to this Impl, so a client destroyed meanwhile is not kept alive by it.
  boost::asio::co_spawn(executor_, run_discovery(discovery_, weak_from_this()),
                        [weak = weak_from_this()](const std::exception_ptr& error) {
                          const auto self = weak.lock();
                          if (self && error) {
                            self->discovered(core::unexpected(std::string("discovery failed")));
                          }
                        });
}

boost::asio::awaitable<void> RedisClient::Impl::run_discovery(
    std::shared_ptr<SentinelDiscovery> discovery, std::weak_ptr<Impl> weak) {
  auto result = co_await SentinelDiscovery::find_primary(std::move(discovery));
  if (const auto self = weak.lock()) self->discovered(std::move(result));
}

void RedisClient::Impl::discovered(DiscoveryResult result) {
  discovering_ = false;
  if (closed_) return;
  if (!result) {
    ++stats_.discovery_failures;
    discovered_ = false;  // no primary known now; the next one named is logged again
    connect_failed(result.error());
    return;
  }
  const DiscoveredPrimary& found = result.value();
  if (!discovered_ || found.primary != target_) {
    spdlog::info("redis: primary for {} is {} (from sentinel {})", settings_.master_name,
                 found.primary.to_string(), found.sentinel.to_string());
  }
  discovered_ = true;
  target_ = found.primary;
  connect_to_target();
}

std::string RedisClient::Impl::target_name() const {
  if (discovery_ && !discovered_) return "the primary for " + settings_.master_name;
  return target_.to_string();
}

void RedisClient::Impl::connect_to_target() {
  const auto attempt = ++attempt_;
  redisAsyncContext* context = redisAsyncConnect(target_.host.c_str(), target_.port);
  if (context == nullptr) {
    connect_failed("cannot allocate a connection");
    return;
  }
  if (context->err != 0) {
    const std::string why = context->errstr;
    redisAsyncFree(context);
    connect_failed(why);
    return;
  }
  context->data = this;
  if (!attach_asio(*context, executor_)) {
    redisAsyncFree(context);
    connect_failed("cannot register the socket with the event loop");
    return;
  }
  context_ = context;
  redisAsyncSetDisconnectCallback(context, &Impl::on_disconnect);
  // Sets the write watch that signals the end of the non-blocking connect: after attaching.
  redisAsyncSetConnectCallback(context, &Impl::on_connect);

  connect_deadline_.expires_after(settings_.connect_timeout);
  // The timer is this Impl's; the handler holds only a weak reference, so it outlives neither.
  connect_deadline_.async_wait([weak = weak_from_this(), attempt](boost::system::error_code ec) {
    const auto self = weak.lock();
    if (self && !ec) self->connect_timed_out(attempt);
  });
}

void RedisClient::Impl::close() noexcept {
  if (closed_) return;
  closed_ = true;
  if (discovery_) discovery_->cancel();
  connect_deadline_.cancel();
  retry_timer_.cancel();
  connected_ = false;
  // Runs every pending reply callback with NULL (their awaiters resume with not_connected),
  // then the adapter's cleanup, then on_disconnect, which sees closed_ and does nothing.
  if (redisAsyncContext* context = std::exchange(context_, nullptr)) redisAsyncFree(context);
}

std::optional<RedisError> RedisClient::Impl::refuse() {
  if (closed_) return fail(RedisErrorKind::not_connected, "redis client is shut down");
  if (!connected_) return fail(RedisErrorKind::not_connected, "not connected to redis");
  if (in_flight_ >= settings_.max_pending) {
    return fail(RedisErrorKind::overloaded, "too many redis commands in flight");
  }
  return std::nullopt;
}

std::optional<RedisError> RedisClient::Impl::send(const Command& command,
                                                  const std::shared_ptr<Op>& op) {
  auto pending = std::make_unique<PendingCommand>(PendingCommand{op});
  const auto& key = command.key;
  int status = REDIS_ERR;
  switch (command.verb) {
    case Verb::get:
      status = redisAsyncCommand(context_, &Impl::on_reply, pending.get(), "GET %b", key.data(),
                                 key.size());
      break;
    case Verb::set:
      status = redisAsyncCommand(context_, &Impl::on_reply, pending.get(), "SET %b %b PX %lld",
                                 key.data(), key.size(), command.value.data(), command.value.size(),
                                 command.ttl_ms);
      break;
    case Verb::del:
      status = redisAsyncCommand(context_, &Impl::on_reply, pending.get(), "DEL %b", key.data(),
                                 key.size());
      break;
    case Verb::eval: {
      const std::string formatted = format_eval(command, settings_.key_prefix);
      status = redisAsyncFormattedCommand(context_, &Impl::on_reply, pending.get(),
                                          formatted.data(), formatted.size());
      break;
    }
  }
  if (status != REDIS_OK) {
    return fail(RedisErrorKind::not_connected, "redis connection refused the command");
  }
  [[maybe_unused]] PendingCommand* owned_by_hiredis = pending.release();  // until on_reply
  ++in_flight_;
  ++stats_.commands_sent;
  return std::nullopt;
}

void RedisClient::Impl::on_connect(const redisAsyncContext* context, int status) {
  auto* self = static_cast<Impl*>(context->data);
  if (status == REDIS_OK) {
    self->established();
    return;
  }
  // hiredis frees the context as soon as this returns.
  self->context_ = nullptr;
  self->connect_failed(context->errstr != nullptr ? context->errstr : "connect failed");
}

void RedisClient::Impl::on_disconnect(const redisAsyncContext* context, int status) {
  // The context is being freed; its pending commands have already been failed.
  auto* self = static_cast<Impl*>(context->data);
  self->lost(status == REDIS_OK || context->errstr == nullptr ? "connection closed"
                                                              : context->errstr);
}

void RedisClient::Impl::on_reply(redisAsyncContext* context, void* reply, void* privdata) {
  const std::unique_ptr<PendingCommand> pending(static_cast<PendingCommand*>(privdata));
  auto* self = static_cast<Impl*>(context->data);
  self->reply_arrived(*pending, static_cast<const redisReply*>(reply), context->err,
                      context->errstr);
}

void RedisClient::Impl::established() {
  connect_deadline_.cancel();
  connected_ = true;
  failing_ = false;
  backoff_ = settings_.reconnect_backoff_min;
  ++stats_.connects;
  if (ever_connected_) ++stats_.reconnects;
  ever_connected_ = true;
  spdlog::info("redis: connected to {}", target_name());
  for (Subscription& subscription : subscriptions_) send_subscribe(subscription);
}

void RedisClient::Impl::subscribe(std::string channel,
                                  std::function<void(std::string_view)> on_message) {
  Subscription& added = subscriptions_.emplace_back(
      Subscription{prefixed(std::move(channel)), std::move(on_message), false});
  if (connected_) send_subscribe(added);
}

void RedisClient::Impl::send_subscribe(Subscription& subscription) {
  subscription.confirmed = false;
  // hiredis keeps the callback for the channel's messages until UNSUBSCRIBE or the context's
  // end (then it runs it once with NULL); the privdata lives as long as this Impl.
  if (redisAsyncCommand(context_, &Impl::on_message, &subscription, "SUBSCRIBE %b",
                        subscription.channel.data(), subscription.channel.size()) != REDIS_OK) {
    (void)fail(RedisErrorKind::not_connected, "redis connection refused SUBSCRIBE");
    return;
  }
  ++stats_.commands_sent;
}

void RedisClient::Impl::on_message(redisAsyncContext* context, void* reply, void* privdata) {
  const auto* message = static_cast<const redisReply*>(reply);
  auto* subscription = static_cast<Subscription*>(privdata);
  if (message == nullptr || subscription == nullptr) return;  // the context is going away
  auto* self = static_cast<Impl*>(context->data);
  // ["subscribe", channel, count] confirms; ["message", channel, payload] is one message.
  if (message->type != REDIS_REPLY_ARRAY || message->elements != 3 ||
      message->element[0]->type != REDIS_REPLY_STRING) {
    return;
  }
  const std::string_view kind(message->element[0]->str, message->element[0]->len);
  const redisReply& last = *message->element[2];
  if (kind == "subscribe") {
    subscription->confirmed = true;
    ++self->stats_.replies;
  } else if (kind == "message" && last.type == REDIS_REPLY_STRING) {
    ++self->stats_.replies;
    subscription->on_message(std::string_view(last.str, last.len));
  }
}

void RedisClient::Impl::connect_failed(std::string_view why) {
  connect_deadline_.cancel();
  ++stats_.connect_failures;
  if (!failing_) {
    spdlog::warn("redis: cannot connect to {}: {}; retrying in the background", target_name(), why);
  }
  failing_ = true;
  schedule_retry();
}

void RedisClient::Impl::connect_timed_out(std::uint64_t attempt) {
  // A deadline that expired just as its attempt ended, or one of an earlier attempt.
  if (attempt != attempt_ || connected_ || context_ == nullptr) return;
  // Not connected, so no command is queued and hiredis calls neither on_connect nor
  // on_disconnect while freeing it.
  redisAsyncFree(std::exchange(context_, nullptr));
  connect_failed("connect timed out");
}

void RedisClient::Impl::lost(const char* why) {
  context_ = nullptr;
  connected_ = false;
  for (Subscription& subscription : subscriptions_) subscription.confirmed = false;
  if (closed_) return;
  ++stats_.disconnects;
  spdlog::warn("redis: connection to {} lost: {}", target_name(), why);
  schedule_retry();
}

void RedisClient::Impl::reply_arrived(const PendingCommand& pending, const redisReply* reply,
                                      int context_error, const char* context_errstr) {
  --in_flight_;
  const auto op = pending.op.lock();
  if (!op || op->ended) {
    if (reply != nullptr) ++stats_.late_replies;
    return;
  }
  op->ended = true;
  if (reply == nullptr) {
    // The context is being freed: by close(), or after an I/O or protocol error.
    const bool protocol = context_error == REDIS_ERR_PROTOCOL;
    std::string message = closed_ ? "redis client is shut down" : "redis connection lost";
    if (context_error != 0 && context_errstr != nullptr) (message += ": ") += context_errstr;
    op->outcome.emplace(core::unexpected(fail(
        protocol ? RedisErrorKind::protocol : RedisErrorKind::not_connected, std::move(message))));
  } else {
    ++stats_.replies;
    if (discovery_ && connected_ && reply->type == REDIS_REPLY_ERROR && reply->str != nullptr &&
        std::string_view(reply->str, reply->len).starts_with("READONLY")) {
      // The node was demoted to a replica (a failover): refuse further commands now, and drop
      // the connection outside hiredis's callback so the reconnect asks the sentinels again.
      // (Without sentinels there is nowhere else to go: the error is only reported.)
      connected_ = false;
      boost::asio::post(executor_, [weak = weak_from_this(), attempt = attempt_] {
        if (const auto self = weak.lock()) self->demoted(attempt);
      });
    }
    op->outcome.emplace(Reply{reply->type, copy_value(*reply)});
  }
  op->timer.cancel();
}

void RedisClient::Impl::demoted(std::uint64_t attempt) {
  // The connection may have ended meanwhile, and a new one begun.
  if (closed_ || attempt != attempt_ || context_ == nullptr) return;
  ++stats_.demotions;
  spdlog::warn("redis: {} answered READONLY (demoted to a replica); reconnecting",
               target_.to_string());
  // Fails the commands still in flight, then runs on_disconnect, which schedules the retry.
  redisAsyncFree(context_);
}

void RedisClient::Impl::schedule_retry() {
  if (closed_) return;
  const auto delay = backoff_;
  backoff_ = std::min(backoff_ * 2, settings_.reconnect_backoff_max);
  retry_timer_.expires_after(delay);
  // As with the connect deadline: the Impl owns the timer, the handler only a weak reference.
  retry_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    const auto self = weak.lock();
    if (self && !ec) self->connect();
  });
}

namespace {

using Impl = RedisClient::Impl;

// The frame holds the Impl, so a client destroyed meanwhile leaves its state alive until this
// resumes (close() has failed the command by then).
// `command` lives in the caller's frame, which outlives this one (it awaits it).
boost::asio::awaitable<RawResult> run_command(std::shared_ptr<Impl> impl, const Command& command) {
  if (auto refused = impl->refuse()) co_return core::unexpected(std::move(*refused));
  const auto op = std::make_shared<Op>(impl->executor());
  if (auto failed = impl->send(command, op)) co_return core::unexpected(std::move(*failed));
  op->timer.expires_after(impl->settings().command_timeout);
  const auto [ec] =
      co_await op->timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  // The reply may have come after the deadline expired but before this resumed: use it.
  if (op->outcome.has_value()) co_return std::move(op->outcome).value();
  op->ended = true;
  if (ec == boost::asio::error::operation_aborted) {
    co_return core::unexpected(impl->fail(RedisErrorKind::cancelled, "redis command cancelled"));
  }
  co_return core::unexpected(impl->fail(RedisErrorKind::timeout, "redis command timed out"));
}

RedisError unexpected_reply(Impl& impl, const Reply& reply, std::string_view command) {
  if (reply.type == REDIS_REPLY_ERROR) {
    return impl.fail(RedisErrorKind::server_error, reply.value.text);
  }
  return impl.fail(RedisErrorKind::protocol, "unexpected reply type " + std::to_string(reply.type) +
                                                 " to " + std::string(command));
}

boost::asio::awaitable<RedisResult<std::optional<std::string>>> run_get(std::shared_ptr<Impl> impl,
                                                                        std::string key) {
  const Command command{Verb::get, impl->prefixed(std::move(key)), {}, 0, nullptr, false, {}, {}};
  auto result = co_await run_command(impl, command);
  if (!result) co_return core::unexpected(result.error());
  Reply& reply = result.value();
  if (reply.type == REDIS_REPLY_STRING) {
    co_return std::optional<std::string>(std::move(reply.value.text));
  }
  if (reply.type == REDIS_REPLY_NIL) co_return std::optional<std::string>();
  co_return core::unexpected(unexpected_reply(*impl, reply, "GET"));
}

boost::asio::awaitable<RedisResult<void>> run_status(std::shared_ptr<Impl> impl, Command command,
                                                     int expected_type, std::string_view name) {
  auto result = co_await run_command(impl, command);
  if (!result) co_return core::unexpected(result.error());
  if (result.value().type == expected_type) co_return std::monostate{};
  co_return core::unexpected(unexpected_reply(*impl, result.value(), name));
}

bool is_noscript(const RawResult& result) {
  return result && result.value().type == REDIS_REPLY_ERROR &&
         result.value().value.text.starts_with("NOSCRIPT");
}

// EVALSHA; the script goes in full (EVAL) once if the server does not know its SHA-1.
boost::asio::awaitable<RedisResult<RedisValue>> run_eval(std::shared_ptr<Impl> impl,
                                                         Command command,
                                                         const RedisScript& script) {
  auto result = co_await run_command(impl, command);
  if (is_noscript(result)) {
    command.full_text = true;
    result = co_await run_command(impl, command);
  }
  if (!result) co_return core::unexpected(result.error());
  Reply& reply = result.value();
  if (reply.type == REDIS_REPLY_ERROR) {
    co_return core::unexpected(unexpected_reply(*impl, reply, "EVAL"));
  }
  co_return std::move(reply.value);
}

}  // namespace

RedisClient::RedisClient(boost::asio::any_io_executor executor, RedisSettings settings) {
  const auto require_ip = [](const std::string& host) {
    boost::system::error_code ec;
    (void)boost::asio::ip::make_address(host, ec);
    if (ec) throw std::invalid_argument("redis host must be an IP address, not '" + host + "'");
  };
  if (settings.sentinels.empty()) {
    require_ip(settings.host);
  } else {
    for (const RedisAddress& sentinel : settings.sentinels) require_ip(sentinel.host);
    if (settings.master_name.empty()) {
      throw std::invalid_argument("redis sentinels need the name of the primary they monitor");
    }
  }
  if (settings.connect_timeout <= Duration::zero() ||
      settings.command_timeout <= Duration::zero() ||
      settings.reconnect_backoff_min <= Duration::zero() ||
      settings.reconnect_backoff_max < settings.reconnect_backoff_min) {
    throw std::invalid_argument("redis timeouts and backoffs must be positive, min <= max");
  }
  impl_ = std::make_shared<Impl>(std::move(executor), std::move(settings));
  impl_->connect();
}

RedisClient::~RedisClient() { impl_->close(); }

boost::asio::awaitable<RedisResult<std::optional<std::string>>> RedisClient::get(std::string key) {
  return run_get(impl_, std::move(key));
}

boost::asio::awaitable<RedisResult<void>> RedisClient::set(std::string key, std::string value,
                                                           std::chrono::milliseconds ttl) {
  Command command{Verb::set,
                  impl_->prefixed(std::move(key)),
                  std::move(value),
                  static_cast<long long>(std::max<std::int64_t>(ttl.count(), 1)),
                  nullptr,
                  false,
                  {},
                  {}};
  return run_status(impl_, std::move(command), REDIS_REPLY_STATUS, "SET");
}

boost::asio::awaitable<RedisResult<void>> RedisClient::del(std::string key) {
  Command command{Verb::del, impl_->prefixed(std::move(key)), {}, 0, nullptr, false, {}, {}};
  return run_status(impl_, std::move(command), REDIS_REPLY_INTEGER, "DEL");
}

boost::asio::awaitable<RedisResult<RedisValue>> RedisClient::eval(const RedisScript& script,
                                                                  std::vector<std::string> keys,
                                                                  std::vector<std::string> args) {
  Command command{Verb::eval, {}, {}, 0, &script, false, std::move(keys), std::move(args)};
  return run_eval(impl_, std::move(command), script);
}

RedisScript::RedisScript(std::string text) : text_(std::move(text)) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(text_.data(), text_.size(), digest.data(), &length, EVP_sha1(), nullptr);
  sha1_ = core::to_hex(std::span(digest.data(), length));
}

void RedisClient::subscribe(std::string channel, std::function<void(std::string_view)> on_message) {
  impl_->subscribe(std::move(channel), std::move(on_message));
}

bool RedisClient::subscribed() const noexcept { return impl_->subscribed(); }

bool RedisClient::connected() const noexcept { return impl_->connected(); }
std::size_t RedisClient::in_flight() const noexcept { return impl_->in_flight(); }
const RedisStats& RedisClient::stats() const noexcept { return impl_->stats(); }
const RedisSettings& RedisClient::settings() const noexcept { return impl_->settings(); }
void RedisClient::shutdown() noexcept { impl_->close(); }

}  // namespace levee::redis
