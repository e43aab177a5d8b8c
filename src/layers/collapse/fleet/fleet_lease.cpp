#include "layers/collapse/fleet/fleet_lease.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

#include "admin/metrics.hpp"

namespace levee::layers::collapse::fleet {

namespace {

void bump(std::atomic<std::uint64_t>& counter, admin::Counter* metric) {
  counter.fetch_add(1, std::memory_order_relaxed);
  if (metric != nullptr) metric->inc();
}

boost::asio::awaitable<bool> cancelled() {
  const auto state = co_await boost::asio::this_coro::cancellation_state;
  co_return state.cancelled() != boost::asio::cancellation_type::none;
}

void log_degraded(FleetCounters& counters, const FleetRules& rules, std::string_view why) {
  if (const auto suppressed = counters.degraded_log.admit()) {
    spdlog::warn(
        "fleet: route {}: {}; collapsing within this instance only ({} more since the last "
        "line)",
        rules.route, why, *suppressed);
  }
}

}  // namespace

std::string_view to_string(LeaseOutcome outcome) noexcept {
  switch (outcome) {
    case LeaseOutcome::won:
      return "won";
    case LeaseOutcome::waited:
      return "waited";
    case LeaseOutcome::taken_over:
      return "taken_over";
    case LeaseOutcome::expired:
      return "expired";
  }
  return "unknown";
}

std::string_view to_string(Fallback fallback) noexcept {
  switch (fallback) {
    case Fallback::redis_error:
      return "redis_error";
    case Fallback::wait_expired:
      return "wait_expired";
    case Fallback::unshared:
      return "unshared";
    case Fallback::bad_answer:
      return "bad_answer";
  }
  return "unknown";
}

void FleetCounters::count(LeaseOutcome outcome) {
  const auto at = static_cast<std::size_t>(outcome);
  bump(leases[at], metrics.leases[at]);
}

void FleetCounters::count_hit(bool stale) {
  if (stale) {
    bump(stale_hits, metrics.stale_hits);
  } else {
    bump(hits, metrics.hits);
  }
}

void FleetCounters::count(Fallback fallback) {
  const auto at = static_cast<std::size_t>(fallback);
  bump(fallbacks[at], metrics.fallbacks[at]);
}

void FleetCounters::count(Unshared reason) {
  const auto at = static_cast<std::size_t>(reason);
  bump(unshared[at], metrics.unshared[at]);
}

void FleetCounters::count_command() { bump(commands, metrics.commands); }

boost::asio::awaitable<Obtained> obtain(std::shared_ptr<FleetClient> client,
                                        std::shared_ptr<const FleetRules> rules,
                                        std::shared_ptr<FleetCounters> counters, std::string key) {
  using Clock = std::chrono::steady_clock;
  // Watched before the first ask: a completion that lands between the two is still heard.
  FleetClient::Watch watch(client, key);
  // A waiter waits as long as some holder keeps a lease alive (renewing it while its call
  // runs), and never longer than wait_limit; then it calls on its own.
  const auto started = Clock::now();
  const auto hard_limit = started + rules->wait_limit;
  auto give_up = started;
  std::uint64_t min_token = 0;  // the first holder seen: its answer, or any later one, will do
  bool waited = false;
  for (;;) {
    counters->count_command();
    auto acquired =
        co_await client->acquire(key, min_token, rules->lease_ttl, rules->stale.count() > 0);
    if (co_await cancelled()) co_return Obtained{Obtained::Kind::cancelled, 0, {}};
    if (!acquired) {
      counters->count(Fallback::redis_error);
      log_degraded(*counters, *rules,
                   "Redis failed (" + std::string(redis::to_string(acquired.error().kind)) + ": " +
                       acquired.error().message + ")");
      co_return Obtained{};
    }
    Acquired& got = acquired.value();
    switch (got.kind) {
      case Acquired::Kind::won:
        counters->count(waited ? LeaseOutcome::taken_over : LeaseOutcome::won);
        co_return Obtained{Obtained::Kind::lead, got.token, {}};
      case Acquired::Kind::answer:
      case Acquired::Kind::stale: {
        auto answer = decode_answer(got.answer);
        if (!answer) {
          counters->count(Fallback::bad_answer);
          log_degraded(*counters, *rules, "an answer in Redis did not decode");
          co_return Obtained{};
        }
        counters->count_hit(got.kind == Acquired::Kind::stale);
        co_return Obtained{Obtained::Kind::answer, 0, std::move(*answer)};
      }
      case Acquired::Kind::held:
        break;
    }
    if (min_token == 0) min_token = got.token;
    give_up =
        std::min(hard_limit, std::max(give_up, Clock::now() + got.lease_left + rules->fleet_wait));
    if (!waited) {
      waited = true;
      counters->count(LeaseOutcome::waited);
    }
    const auto now = Clock::now();
    if (now >= give_up) {
      counters->count(Fallback::wait_expired);
      co_return Obtained{};
    }
    // Ask again when fleet_wait has passed (a completion message may be lost) or the lease ran
    // out (its holder died), whichever is first; a completion wakes the wait at once.
    const auto until = std::min(
        {now + rules->fleet_wait, now + got.lease_left + std::chrono::milliseconds(1), give_up});
    const Completion heard = co_await watch.wait(min_token, until);
    if (co_await cancelled()) co_return Obtained{Obtained::Kind::cancelled, 0, {}};
    if (heard.kind == Completion::Kind::local) {
      counters->count(Fallback::unshared);
      co_return Obtained{};
    }
  }
}

namespace {

struct Renewal {
  explicit Renewal(const boost::asio::any_io_executor& executor) : timer(executor) {}
  boost::asio::steady_timer timer;
  bool stopped = false;
};

boost::asio::awaitable<void> renew_until_stopped(std::shared_ptr<Renewal> renewal,
                                                 std::shared_ptr<FleetClient> client,
                                                 std::shared_ptr<const FleetRules> rules,
                                                 std::shared_ptr<FleetCounters> counters,
                                                 std::string key, std::uint64_t token) {
  for (;;) {
    renewal->timer.expires_after(rules->lease_ttl / 2);
    boost::system::error_code ec;
    co_await renewal->timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    if (renewal->stopped) co_return;
    counters->count_command();
    const auto renewed = co_await client->renew(key, token, rules->lease_ttl);
    // Lost (expired and maybe taken over): the answer still goes to Redis at the end, token
    // checked. A Redis error: try again next time; the lease may still be ours.
    if (renewed && !renewed.value()) co_return;
  }
}

}  // namespace

std::shared_ptr<void> keep_lease(std::shared_ptr<FleetClient> client,
                                 std::shared_ptr<const FleetRules> rules,
                                 std::shared_ptr<FleetCounters> counters, std::string key,
                                 std::uint64_t token) {
  auto renewal = std::make_shared<Renewal>(client->executor());
  boost::asio::co_spawn(client->executor(),
                        renew_until_stopped(renewal, client, std::move(rules), std::move(counters),
                                            std::move(key), token),
                        boost::asio::detached);
  // The handle stops the loop; the loop's frame keeps the timer alive until it sees that.
  return std::shared_ptr<void>(nullptr, [renewal](void*) {
    renewal->stopped = true;
    renewal->timer.cancel();
  });
}

void complete_lease(const std::shared_ptr<FleetClient>& client,
                    const std::shared_ptr<const FleetRules>& rules,
                    const std::shared_ptr<FleetCounters>& counters, std::string key,
                    std::uint64_t token, const std::optional<core::Response>& answer) {
  Completion completion{Completion::Kind::abandoned, token};
  std::string encoded;
  if (answer) {
    if (const auto reason = unshared_reason(*answer, rules->max_bytes)) {
      counters->count(*reason);
      completion.kind = Completion::Kind::local;
    } else {
      completion.kind = Completion::Kind::shared;
      encoded = encode_answer(*answer);
    }
  }
  counters->count_command();
  client->complete(std::move(key), completion, std::move(encoded), rules->answer_ttl(),
                   [counters, rules](const redis::RedisResult<Completed>& outcome) {
                     // Not a fallback (this slot was answered): the waiters find no answer,
                     // and one of them takes the lease over when it expires.
                     if (!outcome) {
                       log_degraded(*counters, *rules,
                                    "a lease could not be completed (" +
                                        std::string(redis::to_string(outcome.error().kind)) + ")");
                       return;
                     }
                     if (!outcome.value().lease_was_ours) counters->count(LeaseOutcome::expired);
                   });
}

}  // namespace levee::layers::collapse::fleet
