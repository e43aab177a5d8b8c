// The holder's side of FleetClient (fleet_client.hpp): the leases this worker won, their
// renewal, and how each ends — completed in Redis when an instance waits for it, released
// quietly (riding along with the next acquire) when none does.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <utility>

#include "layers/collapse/fleet/fleet_answer.hpp"
#include "layers/collapse/fleet/fleet_client.hpp"

namespace levee::layers::collapse::fleet {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds k_holder_tick{10};

std::size_t answer_bytes(const core::Response& answer) {
  std::size_t bytes = answer.body_size();
  for (const auto& [name, value] : answer.headers) bytes += name.size() + value.size();
  return bytes;
}

}  // namespace

void FleetClient::hold(const std::string& key, std::uint64_t token,
                       std::shared_ptr<const FleetRules> rules,
                       std::shared_ptr<FleetCounters> counters, bool waited) {
  const auto due = Clock::now() + rules->lease_ttl / 2;
  Held held;
  held.key = key;
  held.waited = waited;
  held.rules = std::move(rules);
  held.counters = std::move(counters);
  held.due = due;
  held_.insert_or_assign(token, std::move(held));
  arm(holder_alarm_, due, &FleetClient::holder_tick);
}

void FleetClient::finish(const std::string& key, std::uint64_t token,
                         std::optional<core::Response> answer) {
  const auto found = held_.find(token);
  if (found == held_.end() || found->second.key != key) return;  // finished already
  auto node = held_.extract(found);
  Held& held = node.mapped();
  Completion::Kind kind = Completion::Kind::abandoned;
  if (answer) {
    if (const auto reason = unshared_reason(*answer, held.rules->max_bytes)) {
      held.counters->count(*reason);
      kind = Completion::Kind::local;
    } else {
      kind = Completion::Kind::shared;
    }
  }
  // Stale answers are served from Redis, so a route that serves them writes every answer.
  if (held.waited || held.rules->stale.count() > 0) {
    complete_held(token, kind, answer, held, true);
    return;
  }
  held.kind = kind;
  if (kind == Completion::Kind::shared) {
    const std::size_t bytes = answer_bytes(*answer);
    if (kept_bytes_ + bytes <= k_max_kept_bytes) {
      held.answer = std::move(answer);
      // What the members' writes held (permits, an upstream connection) is not the answer's.
      held.answer->held_until_written.reset();
      held.answer->stream.reset();
      held.kept_bytes = bytes;
      kept_bytes_ += bytes;
    } else {
      held.kind = Completion::Kind::abandoned;  // a late waiter takes the lease over instead
    }
  }
  held.due = Clock::now() + held.rules->fleet_wait;
  const auto due = held.due;
  // Bounded whatever fleet_wait and the rate: the oldest is forgotten first (a late waiter of
  // it waits for its poll, then takes the lease over once the release is through).
  if (kept_.size() >= k_max_kept_leases) forget_oldest_kept();
  auto kept = kept_.insert(std::move(node));
  if (!kept.inserted) {  // the same lease id kept twice cannot happen; keep the first
    return;
  }
  kept_order_.push_back(KeptUntil{token, due});
  arm(holder_alarm_, due, &FleetClient::holder_tick);
  queue_release(key, token, kept.position->second.counters);
}

void FleetClient::waiter_heard(std::string_view key, std::uint64_t token) {
  if (const auto running = held_.find(token);
      running != held_.end() && running->second.key == key) {
    running->second.waited = true;  // completed at once when the call ends
    return;
  }
  const auto found = kept_.find(token);
  // Not ours, or answered already.
  if (found == kept_.end() || found->second.key != key || found->second.completed) return;
  // The waiter asked before this lease's release reached Redis: it is owed this answer. The
  // release may have gone already, so a lease no longer ours is not an expiry here.
  Held& held = found->second;
  complete_held(token, held.kind, held.answer, held, false);
  held.completed = true;
  held.answer.reset();
  kept_bytes_ -= std::exchange(held.kept_bytes, 0);
}

void FleetClient::complete_held(std::uint64_t token, Completion::Kind kind,
                                const std::optional<core::Response>& answer, const Held& held,
                                bool count_lost_lease) {
  std::string encoded;
  if (kind == Completion::Kind::shared) encoded = encode_answer(*answer);
  held.counters->count_command();
  const bool lost_already = held.lost;
  complete(held.key, Completion{kind, token}, std::move(encoded), held.rules->answer_ttl(),
           [counters = held.counters, rules = held.rules, count_lost_lease,
            lost_already](const redis::RedisResult<Completed>& outcome) {
             // Not a fallback (this slot was answered): the waiters find no answer, and one of
             // them takes the lease over when it expires.
             if (!outcome) {
               log_degraded(*counters, *rules,
                            "a lease could not be completed (" +
                                std::string(redis::to_string(outcome.error().kind)) + ")");
               return;
             }
             if (count_lost_lease && !lost_already && !outcome.value().lease_was_ours) {
               counters->count(LeaseOutcome::expired);
             }
           });
}

void FleetClient::queue_release(std::string key, std::uint64_t token,
                                std::shared_ptr<FleetCounters> held_counters) {
  if (releases_.size() >= k_max_queued_releases) releases_.pop_front();  // expires by itself
  const auto now = Clock::now();
  releases_.push_back(Release{std::move(key), token, now, 0, std::move(held_counters)});
  arm(release_alarm_, now + release_delay_, &FleetClient::flush_releases);
}

void FleetClient::take_into(std::size_t at_most, Clock::time_point until, ReleaseBatch& batch) {
  while (!releases_.empty() && batch.taken.size() < at_most && releases_.front().queued <= until) {
    Release& release = releases_.front();
    batch.keys.push_back("fleet:lease:" + release.key);
    batch.tokens.push_back(std::to_string(release.token));
    batch.taken.push_back(std::move(release));
    releases_.pop_front();
  }
}

void FleetClient::requeue(std::vector<Release> failed) {
  if (closed_) return;
  for (auto it = failed.rbegin(); it != failed.rend(); ++it) {
    if (++it->attempts >= k_release_attempts) continue;
    if (releases_.size() >= k_max_queued_releases) break;
    releases_.push_front(std::move(*it));
  }
  if (!releases_.empty()) {
    arm(release_alarm_, Clock::now() + release_delay_, &FleetClient::flush_releases);
  }
}

// The release script's arguments for the queued releases up to `until` (queued no later;
// time_point::max(): all), at most k_release_batch; counted as one round trip of the first
// lease's route (if it has one: a cancelled ask's lease has none).
FleetClient::ReleaseBatch FleetClient::take_releases(Clock::time_point until) {
  ReleaseBatch batch;
  if (releases_.empty() || releases_.front().queued > until) return batch;
  if (const auto& counters = releases_.front().counters) counters->count_command();
  take_into(k_release_batch, until, batch);
  return batch;
}

// Sends, in batches of their own, the releases no acquire carried within release_delay, and
// waits for the rest.
void FleetClient::flush_releases() {
  const auto cutoff = Clock::now() - release_delay_;
  for (ReleaseBatch batch = take_releases(cutoff); !batch.keys.empty();
       batch = take_releases(cutoff)) {
    boost::asio::co_spawn(
        executor_,
        [](std::shared_ptr<FleetClient> self, ReleaseBatch batch) -> boost::asio::awaitable<void> {
          const auto sent = co_await self->commands_.eval(release_script(), std::move(batch.keys),
                                                          std::move(batch.tokens));
          if (!sent) self->requeue(std::move(batch.taken));
        }(shared_from_this(), std::move(batch)),
        boost::asio::detached);
  }
  if (!releases_.empty()) {
    arm(release_alarm_, releases_.front().queued + release_delay_, &FleetClient::flush_releases);
  }
}

boost::asio::awaitable<void> FleetClient::release_all() {
  const auto self = shared_from_this();
  while (!closed_) {
    ReleaseBatch batch = take_releases(Clock::time_point::max());
    if (batch.keys.empty()) break;
    // At exit a failure is not tried again: the leases expire by themselves.
    (void)co_await commands_.eval(release_script(), std::move(batch.keys), std::move(batch.tokens));
  }
}

void FleetClient::arm(Alarm& alarm, Clock::time_point at, void (FleetClient::*fire)()) {
  if (closed_ || at >= alarm.at) return;
  alarm.at = at;
  alarm.timer.expires_at(at);
  // A wait replaced by an earlier one ends with operation_aborted and does nothing.
  alarm.timer.async_wait([weak = weak_from_this(), &alarm, fire](boost::system::error_code ec) {
    const auto self = weak.lock();
    if (ec || !self || self->closed_) return;
    alarm.at = Clock::time_point::max();
    ((*self).*fire)();
  });
}

void FleetClient::forget_oldest_kept() {
  const auto found = kept_.find(kept_order_.front().token);
  kept_order_.pop_front();
  if (found == kept_.end()) return;  // cannot happen: only these two erase from kept_
  kept_bytes_ -= found->second.kept_bytes;
  kept_.erase(found);
}

void FleetClient::forget_kept(Clock::time_point now) {
  while (!kept_order_.empty() && kept_order_.front().due <= now) forget_oldest_kept();
}

// Renews the running leases that are due, forgets the kept ones whose fleet_wait is over, and
// waits for the next of either.
void FleetClient::holder_tick() {
  const auto now = Clock::now();
  forget_kept(now);
  auto next = kept_order_.empty() ? Clock::time_point::max() : kept_order_.front().due;
  for (auto& [token, held] : held_) {
    if (held.due > now) {
      next = std::min(next, held.due);
      continue;
    }
    if (held.lost) {  // nothing left to renew; forgotten at finish
      held.due = Clock::time_point::max();
      continue;
    }
    held.due = now + held.rules->lease_ttl / 2;
    next = std::min(next, held.due);
    held.counters->count_command();
    boost::asio::co_spawn(
        executor_,
        [](std::shared_ptr<FleetClient> self, std::string key, std::uint64_t token,
           std::chrono::milliseconds ttl) -> boost::asio::awaitable<void> {
          const auto renewed = co_await self->renew(key, token, ttl);
          // A Redis error: try again next time, the lease may still be ours. Lost (expired and
          // maybe taken over): the answer still goes to Redis at the end, token checked.
          if (!renewed || renewed.value()) co_return;
          const auto found = self->held_.find(token);
          if (found == self->held_.end() || found->second.lost) co_return;
          found->second.lost = true;
          found->second.counters->count(LeaseOutcome::expired);
        }(shared_from_this(), held.key, token, held.rules->lease_ttl),
        boost::asio::detached);
  }
  // Not sooner than k_holder_tick from now: one pass serves every lease due within it (a
  // renewal comes that much before lease_ttl / 2 runs out at worst).
  if (next != Clock::time_point::max()) {
    arm(holder_alarm_, std::max(next, now + k_holder_tick), &FleetClient::holder_tick);
  }
}

}  // namespace levee::layers::collapse::fleet
