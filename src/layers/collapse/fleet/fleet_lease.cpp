#include "layers/collapse/fleet/fleet_lease.hpp"

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <utility>

namespace levee::layers::collapse::fleet {

namespace {

boost::asio::awaitable<bool> cancelled() {
  const auto state = co_await boost::asio::this_coro::cancellation_state;
  co_return state.cancelled() != boost::asio::cancellation_type::none;
}

}  // namespace

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
    if (co_await cancelled()) {
      if (acquired && acquired.value().kind == Acquired::Kind::won) {
        // Won for nobody: given up at once, so that no instance waits for it until lease_ttl.
        client->hold(key, acquired.value().token, rules, counters,
                     watch.waited_for(acquired.value().token));
        client->finish(key, acquired.value().token, std::nullopt);
      }
      co_return Obtained{Obtained::Kind::cancelled, 0, {}};
    }
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
        co_return Obtained{Obtained::Kind::lead, got.token, {}, watch.waited_for(got.token)};
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
      case Acquired::Kind::unshared:
        counters->count(Fallback::unshared);
        co_return Obtained{};
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

}  // namespace levee::layers::collapse::fleet
