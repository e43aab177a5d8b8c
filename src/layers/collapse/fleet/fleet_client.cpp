#include "layers/collapse/fleet/fleet_client.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <memory>
#include <span>
#include <utility>

#include "core/hex.hpp"

namespace levee::layers::collapse::fleet {

namespace {

constexpr std::string_view k_channel = "fleet:done";
constexpr std::string_view k_fence = "fleet:fence";

char kind_letter(Completion::Kind kind) {
  switch (kind) {
    case Completion::Kind::shared:
      return 's';
    case Completion::Kind::local:
      return 'l';
    case Completion::Kind::waiting:
      return 'w';
    case Completion::Kind::abandoned:
    case Completion::Kind::none:
      break;
  }
  return 'a';
}

}  // namespace

std::string lease_key(std::string_view route, std::string_view upstream,
                      std::string_view collapse_key) {
  // OpenSSL 3 looks the algorithm up again on every EVP_sha256() init unless it is fetched
  // once; the context is reused by this thread (levee calls this on its workers' threads).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> owned(
      EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_MD_CTX* context = owned.get();
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  // Length-prefixed parts, so that no two (route, upstream, key) triples run together.
  const auto feed = [context](std::string_view part) {
    const auto size = static_cast<std::uint64_t>(part.size());
    EVP_DigestUpdate(context, &size, sizeof size);
    EVP_DigestUpdate(context, part.data(), part.size());
  };
  EVP_DigestInit_ex(context, sha256 != nullptr ? sha256 : EVP_sha256(), nullptr);
  feed(route);
  feed(upstream);
  feed(collapse_key);
  EVP_DigestFinal_ex(context, digest.data(), &length);
  return core::to_hex(std::span(digest.data(), length));
}

std::string completion_message(std::string_view key, const Completion& completion) {
  std::string message(key);
  message += ' ';
  message += std::to_string(completion.token);
  message += ' ';
  message += kind_letter(completion.kind);
  return message;
}

std::optional<ParsedCompletion> parse_completion(std::string_view payload) {
  const auto first = payload.find(' ');
  const auto second = payload.rfind(' ');
  if (first == std::string_view::npos || second == first || second + 2 != payload.size()) {
    return std::nullopt;
  }
  ParsedCompletion parsed{payload.substr(0, first), {}};
  const std::string_view token = payload.substr(first + 1, second - first - 1);
  const auto [end, ec] =
      std::from_chars(token.data(), token.data() + token.size(), parsed.completion.token);
  if (ec != std::errc{} || end != token.data() + token.size()) return std::nullopt;
  switch (payload.back()) {
    case 's':
      parsed.completion.kind = Completion::Kind::shared;
      break;
    case 'l':
      parsed.completion.kind = Completion::Kind::local;
      break;
    case 'a':
      parsed.completion.kind = Completion::Kind::abandoned;
      break;
    case 'w':
      parsed.completion.kind = Completion::Kind::waiting;
      break;
    default:
      return std::nullopt;
  }
  return parsed;
}

FleetClient::FleetClient(const boost::asio::any_io_executor& executor,
                         const redis::RedisSettings& settings,
                         std::chrono::milliseconds release_delay)
    : executor_(executor),
      commands_(executor, settings),
      events_(executor, settings),
      release_delay_(release_delay),
      channel_(settings.key_prefix + std::string(k_channel)),
      release_alarm_(executor),
      holder_alarm_(executor) {
  // Runs inline on this thread, only while events_ (a member) lives.
  events_.subscribe(std::string(k_channel), [this](std::string_view payload) { heard(payload); });
}

FleetClient::~FleetClient() { shutdown(); }

void FleetClient::shutdown() noexcept {
  // Leases still held or queued for release expire by themselves (lease_ttl).
  closed_ = true;
  release_alarm_.timer.cancel();
  holder_alarm_.timer.cancel();
  commands_.shutdown();
  events_.shutdown();
}

void FleetClient::heard(std::string_view payload) {
  const auto parsed = parse_completion(payload);
  if (!parsed) return;
  const bool waiting = parsed->completion.kind == Completion::Kind::waiting;
  if (waiting) {
    waiter_heard(parsed->key, parsed->completion.token);
  }
  // Only keys someone here waits for (or asks about) are kept: the channel carries the whole
  // fleet's traffic.
  const auto found = interests_.find(parsed->key);
  if (found == interests_.end()) return;
  Interest& interest = found->second;
  if (waiting) {
    // Maybe for the lease this slot is about to learn it won: the `w` can beat the lease
    // script's reply, which comes on the other connection.
    interest.waiting_for = std::max(interest.waiting_for, parsed->completion.token);
    return;
  }
  if (parsed->completion.token < interest.newest.token) return;
  interest.newest = parsed->completion;
  for (boost::asio::steady_timer* timer : interest.waiting) timer->cancel();
}

std::vector<std::string> FleetClient::keys_of(const std::string& key) {
  return {"fleet:lease:" + key, "fleet:answer:" + key, std::string(k_fence)};
}

FleetClient::Watch::Watch(std::shared_ptr<FleetClient> client, std::string key)
    : client_(std::move(client)), key_(std::move(key)) {
  ++client_->interests_[key_].watches;
}

FleetClient::Watch::~Watch() {
  const auto found = client_->interests_.find(key_);
  if (found != client_->interests_.end() && --found->second.watches == 0) {
    client_->interests_.erase(found);
  }
}

bool FleetClient::Watch::waited_for(std::uint64_t token) const {
  return client_->interests_.at(key_).waiting_for >= token;
}

boost::asio::awaitable<Completion> FleetClient::Watch::wait(
    std::uint64_t min_token, std::chrono::steady_clock::time_point until) {
  Interest& interest = client_->interests_.at(key_);
  const auto heard = [&interest, min_token] {
    return interest.newest.kind != Completion::Kind::none && interest.newest.token >= min_token;
  };
  if (heard()) co_return interest.newest;
  boost::asio::steady_timer timer(client_->executor_, until);
  // Off the list however the wait ends, a frame destroyed while it waits included. The
  // interest outlives the wait: this Watch holds it.
  struct Listed {
    Interest& interest;
    boost::asio::steady_timer* timer;
    ~Listed() { std::erase(interest.waiting, timer); }
  } listed{interest, &timer};
  interest.waiting.push_back(&timer);
  // Every completion of the key wakes the wait; one older than min_token (a holder that lost
  // its lease, finishing late) does not end it.
  for (;;) {
    boost::system::error_code ec;
    co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    if (heard()) co_return interest.newest;
    const auto state = co_await boost::asio::this_coro::cancellation_state;
    if (state.cancelled() != boost::asio::cancellation_type::none ||
        std::chrono::steady_clock::now() >= until) {
      co_return Completion{};
    }
    timer.expires_at(until);
  }
}

boost::asio::awaitable<redis::RedisResult<Acquired>> FleetClient::acquire(
    std::string key, std::uint64_t min_token, std::chrono::milliseconds lease_ttl, bool stale_ok) {
  if (closed_) {
    co_return core::unexpected(
        redis::RedisError{redis::RedisErrorKind::not_connected, "fleet client is shut down"});
  }
  if (asks_.size() >= k_max_queued_asks) {
    co_return core::unexpected(
        redis::RedisError{redis::RedisErrorKind::overloaded, "too many fleet asks waiting"});
  }
  const auto ask = std::make_shared<Ask>(executor_);
  ask->key = std::move(key);
  ask->min_token = min_token;
  ask->lease_ttl_ms = std::to_string(std::max<std::int64_t>(lease_ttl.count(), 1));
  ask->stale_ok = stale_ok;
  asks_.push_back(ask);
  if (asking_ < k_scripts_in_flight) {
    ++asking_;
    boost::asio::co_spawn(executor_, run_asks(shared_from_this()), boost::asio::detached);
  }
  // co_spawn starts run_asks inline: with Redis down it has answered this ask already.
  if (!ask->outcome) {
    // No deadline of its own: the script it rides in ends within [cache] redis_timeout.
    ask->wake.expires_at(std::chrono::steady_clock::time_point::max());
    (void)co_await ask->wake.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }
  if (ask->outcome) co_return std::move(*ask->outcome);
  ask->gone = true;  // cancelled: a lease its script still wins is released
  co_return core::unexpected(
      redis::RedisError{redis::RedisErrorKind::cancelled, "fleet ask cancelled"});
}

void FleetClient::answer_ask(Ask& ask, redis::RedisResult<Acquired> outcome) {
  if (ask.gone) {
    if (outcome && outcome.value().kind == Acquired::Kind::won) {
      queue_release(std::move(ask.key), outcome.value().token, nullptr);
    }
    return;
  }
  ask.outcome.emplace(std::move(outcome));
  ask.wake.cancel();
}

boost::asio::awaitable<void> FleetClient::run_asks(std::shared_ptr<FleetClient> self) {
  std::vector<std::shared_ptr<Ask>> batch;
  while (!self->asks_.empty()) {
    if (self->closed_) {
      for (const auto& ask : std::exchange(self->asks_, {})) {
        self->answer_ask(*ask,
                         core::unexpected(redis::RedisError{redis::RedisErrorKind::not_connected,
                                                            "fleet client is shut down"}));
      }
      break;
    }
    batch.clear();
    while (!self->asks_.empty() && batch.size() < k_asks_per_script) {
      if (!self->asks_.front()->gone) batch.push_back(std::move(self->asks_.front()));
      self->asks_.pop_front();
    }
    if (batch.empty()) continue;
    std::vector<std::string> keys;
    std::vector<std::string> args;
    keys.reserve(1 + 2 * batch.size());
    args.reserve(2 + 4 * batch.size());
    keys.emplace_back(k_fence);
    args.push_back(self->channel_);
    args.push_back(std::to_string(batch.size()));
    for (const auto& ask : batch) {
      keys.push_back("fleet:lease:" + ask->key);
      keys.push_back("fleet:answer:" + ask->key);
      args.push_back(std::to_string(ask->min_token));
      args.push_back(ask->lease_ttl_ms);
      args.emplace_back(ask->stale_ok ? "1" : "0");
      args.push_back(ask->key);
    }
    ReleaseBatch carried;
    self->take_into(k_releases_per_script, std::chrono::steady_clock::time_point::max(), carried);
    keys.insert(keys.end(), std::make_move_iterator(carried.keys.begin()),
                std::make_move_iterator(carried.keys.end()));
    args.insert(args.end(), std::make_move_iterator(carried.tokens.begin()),
                std::make_move_iterator(carried.tokens.end()));
    ++self->acquire_scripts_;
    self->asks_sent_ += batch.size();
    auto reply = co_await self->commands_.eval(acquire_script(), std::move(keys), std::move(args));
    if (!reply) {
      self->requeue(std::move(carried.taken));
      for (const auto& ask : batch) self->answer_ask(*ask, core::unexpected(reply.error()));
      continue;
    }
    auto& answers = reply.value().elements;
    const bool shaped =
        reply.value().type == redis::RedisValue::Type::array && answers.size() == batch.size();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto acquired = shaped ? parse_acquired(std::move(answers[i])) : std::nullopt;
      if (acquired) {
        self->answer_ask(*batch[i], std::move(*acquired));
      } else {
        self->answer_ask(
            *batch[i], core::unexpected(redis::RedisError{redis::RedisErrorKind::protocol,
                                                          "unexpected reply to the lease script"}));
      }
    }
  }
  --self->asking_;
}

boost::asio::awaitable<redis::RedisResult<bool>> FleetClient::renew(
    std::string key, std::uint64_t token, std::chrono::milliseconds lease_ttl) {
  auto reply = co_await commands_.eval(
      renew_script(), {"fleet:lease:" + key},
      {std::to_string(token), std::to_string(std::max<std::int64_t>(lease_ttl.count(), 1))});
  if (!reply) co_return core::unexpected(reply.error());
  if (reply.value().type != redis::RedisValue::Type::integer) {
    co_return core::unexpected(
        redis::RedisError{redis::RedisErrorKind::protocol, "unexpected reply to the renew script"});
  }
  co_return reply.value().integer == 1;
}

void FleetClient::complete(std::string key, Completion completion, std::string answer,
                           std::chrono::milliseconds answer_ttl, CompleteDone done) {
  boost::asio::co_spawn(executor_,
                        run_complete(shared_from_this(), std::move(key), completion,
                                     std::move(answer), answer_ttl, std::move(done)),
                        boost::asio::detached);
}

boost::asio::awaitable<void> FleetClient::run_complete(std::shared_ptr<FleetClient> self,
                                                       std::string key, Completion completion,
                                                       std::string answer,
                                                       std::chrono::milliseconds answer_ttl,
                                                       CompleteDone done) {
  // The answer is stored as "<token>\n<answer>", the token put in front of the encoding in
  // place rather than both copied into a new string. An answer kept by its holder leaves
  // "<token>\n": a waiter whose next ask crosses the completion message then still learns to call
  // on its own, instead of taking a new lease.
  std::string stored = std::move(answer);
  if (!stored.empty() || completion.kind == Completion::Kind::local) {
    stored.insert(0, std::to_string(completion.token) + '\n');
  }
  auto reply =
      co_await self->commands_.eval(complete_script(), keys_of(key),
                                    {std::to_string(completion.token), std::move(stored),
                                     std::to_string(std::max<std::int64_t>(answer_ttl.count(), 1)),
                                     self->channel_, completion_message(key, completion)});
  redis::RedisResult<Completed> outcome = core::unexpected(redis::RedisError{
      redis::RedisErrorKind::protocol, "unexpected reply to the complete script"});
  if (!reply) {
    outcome = core::unexpected(reply.error());
  } else if (auto completed = parse_completed(reply.value())) {
    outcome = *completed;
  }
  if (done) done(outcome);
}

}  // namespace levee::layers::collapse::fleet
