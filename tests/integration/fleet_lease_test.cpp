// The fleet's lease protocol (lease_scripts.hpp, fleet_client.hpp) against a real redis-server:
// who wins a lease and with which token, what a waiter gets once the holder completes, the
// fencing that keeps a holder whose lease expired from overwriting its successor's answer,
// renewing, stale answers, the completion channel as a Watch hears it, and Redis down. The
// whole proxy with fleet = true is in fleet_collapse_test.cpp.
//
// Expiry is waited for by asking Redis (EXISTS through redis-cli), never by sleeping for the
// lease's length.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "layers/collapse/fleet/fleet_client.hpp"
#include "levee_fixture.hpp"
#include "support/fleet_steps.hpp"
#include "support/io_steps.hpp"
#include "support/ports.hpp"
#include "support/redis_server.hpp"

namespace levee::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using layers::collapse::fleet::Acquired;
using layers::collapse::fleet::Completed;
using layers::collapse::fleet::Completion;
using layers::collapse::fleet::FleetClient;
using layers::collapse::fleet::lease_key;
using redis::RedisErrorKind;
using redis::RedisResult;
using redis::RedisSettings;
using Clock = std::chrono::steady_clock;
using Kind = Acquired::Kind;

constexpr std::string_view k_prefix = "t:";

class FleetLeaseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // As in levee's main: hiredis writes with write(2), which raises SIGPIPE on a dead peer.
    std::signal(SIGPIPE, SIG_IGN);
  }

  void SetUp() override {
    server_.emplace(unused_port());
    client_ = connected_client();
    other_ = connected_client();
  }

  void TearDown() override {
    if (client_) client_->shutdown();
    if (other_) other_->shutdown();
  }

  [[nodiscard]] RedisSettings settings() const {
    RedisSettings settings;
    settings.port = server_->port();
    settings.command_timeout = 60s;  // a command that waited for its timeout would hang the test
    settings.connect_timeout = 1s;
    settings.reconnect_backoff_min = 20ms;
    settings.reconnect_backoff_max = 200ms;
    // The lease keys and the channel both get it: a prefix mismatch would lose completions.
    settings.key_prefix = std::string(k_prefix);
    return settings;
  }

  std::shared_ptr<FleetClient> connected_client() {
    return connected_fleet_client(io_, settings());
  }

  Acquired acquire(FleetClient& client, const std::string& key, std::uint64_t min_token,
                   std::chrono::milliseconds lease_ttl = 10s, bool stale_ok = false) {
    auto result = await(io_, client.acquire(key, min_token, lease_ttl, stale_ok));
    if (!result.ok()) throw std::runtime_error("acquire failed: " + result.error().message);
    return std::move(result.value());
  }

  RedisResult<Completed> complete(FleetClient& client, const std::string& key,
                                  Completion completion, std::string answer) {
    auto outcome = std::make_shared<std::optional<RedisResult<Completed>>>();
    client.complete(key, completion, std::move(answer), 10s,
                    [outcome](const RedisResult<Completed>& done) { outcome->emplace(done); });
    if (!run_until(io_, [&] { return outcome->has_value(); }, 5s)) {
      throw std::runtime_error("complete did not finish in time");
    }
    return std::move(**outcome);
  }

  Completed completed(FleetClient& client, const std::string& key, Completion completion,
                      std::string answer) {
    auto result = complete(client, key, completion, std::move(answer));
    if (!result.ok()) throw std::runtime_error("complete failed: " + result.error().message);
    return result.value();
  }

  // Waits until Redis itself has dropped the lease (its PX ran out).
  void wait_until_lease_expired(const std::string& key) {
    const std::string redis_key = std::string(k_prefix) + "fleet:lease:" + key;
    ASSERT_TRUE(run_until(
        io_, [&] { return redis_cli(server_->port(), {"EXISTS", redis_key}) == "0\n"; }, 5s))
        << "lease " << redis_key << " never expired";
  }

  asio::io_context io_;
  std::optional<RedisServer> server_;
  std::shared_ptr<FleetClient> client_;  // "instance A"
  std::shared_ptr<FleetClient> other_;   // "instance B"
};

const std::string k_key = lease_key("items", "legacy", "GET /items/1");
const std::string k_other_key = lease_key("items", "legacy", "GET /items/2");

TEST_F(FleetLeaseTest, FirstCallerWinsWithIncreasingTokensAndTheNextIsHeld) {
  const Acquired first = acquire(*client_, k_key, 0);
  EXPECT_EQ(first.kind, Kind::won);
  EXPECT_GE(first.token, 1u);
  // One fence for the whole fleet: every lease won takes the next token.
  const Acquired second = acquire(*other_, k_other_key, 0);
  EXPECT_EQ(second.kind, Kind::won);
  EXPECT_EQ(second.token, first.token + 1);

  const Acquired held = acquire(*other_, k_key, 0, 10s);
  EXPECT_EQ(held.kind, Kind::held);
  EXPECT_EQ(held.token, first.token);
  EXPECT_GT(held.lease_left, 0ms);
  EXPECT_LE(held.lease_left, 10s);
  EXPECT_TRUE(held.answer.empty());
  // Asking again does not disturb the holder.
  EXPECT_EQ(acquire(*client_, k_key, 0).kind, Kind::held);
}

TEST_F(FleetLeaseTest, WaiterGetsTheAnswerAndALaterRequestWinsAFreshLease) {
  const Acquired holder = acquire(*client_, k_key, 0);
  ASSERT_EQ(holder.kind, Kind::won);
  ASSERT_EQ(acquire(*other_, k_key, 0).kind, Kind::held);

  const std::string answer("encoded\n\0answer", 15);
  const Completed done =
      completed(*client_, k_key, {Completion::Kind::shared, holder.token}, answer);
  EXPECT_TRUE(done.lease_was_ours);
  EXPECT_TRUE(done.written);

  // The waiter, which saw the holder's token, takes the answer: same bytes, the holder's token.
  const Acquired shared = acquire(*other_, k_key, holder.token);
  EXPECT_EQ(shared.kind, Kind::answer);
  EXPECT_EQ(shared.token, holder.token);
  EXPECT_EQ(shared.answer, answer);

  // A waiter of a newer holder does not take this older answer: no lease, so it wins one.
  const Acquired too_old = acquire(*other_, k_key, holder.token + 100);
  EXPECT_EQ(too_old.kind, Kind::won);
  EXPECT_GT(too_old.token, holder.token);
  ASSERT_TRUE(
      completed(*other_, k_key, {Completion::Kind::abandoned, too_old.token}, "").lease_was_ours);

  // A request that arrives after the answer makes a fresh call.
  const Acquired fresh = acquire(*client_, k_key, 0);
  EXPECT_EQ(fresh.kind, Kind::won);
  EXPECT_GT(fresh.token, too_old.token);
}

TEST_F(FleetLeaseTest, AStaleHolderCannotOverwriteItsSuccessorsAnswer) {
  const Acquired a = acquire(*client_, k_key, 0, 50ms);
  ASSERT_EQ(a.kind, Kind::won);
  wait_until_lease_expired(k_key);

  const Acquired b = acquire(*other_, k_key, a.token);
  ASSERT_EQ(b.kind, Kind::won);
  EXPECT_GT(b.token, a.token);
  const Completed b_done = completed(*other_, k_key, {Completion::Kind::shared, b.token}, "B");
  EXPECT_TRUE(b_done.lease_was_ours);
  EXPECT_TRUE(b_done.written);

  // A's call finally returns.
  const Completed a_done = completed(*client_, k_key, {Completion::Kind::shared, a.token}, "A");
  EXPECT_FALSE(a_done.lease_was_ours);
  EXPECT_FALSE(a_done.written);

  // A's own waiters (min_token = a) get B's answer.
  const Acquired seen = acquire(*client_, k_key, a.token);
  EXPECT_EQ(seen.kind, Kind::answer);
  EXPECT_EQ(seen.token, b.token);
  EXPECT_EQ(seen.answer, "B");
}

TEST_F(FleetLeaseTest, AStaleHolderFinishingFirstLeavesItsSuccessorsLeaseAlone) {
  const Acquired a = acquire(*client_, k_key, 0, 50ms);
  ASSERT_EQ(a.kind, Kind::won);
  wait_until_lease_expired(k_key);
  const Acquired b = acquire(*other_, k_key, a.token);
  ASSERT_EQ(b.kind, Kind::won);

  // A completes while B still calls: its answer is newer than none, but the lease is B's.
  const Completed a_done = completed(*client_, k_key, {Completion::Kind::shared, a.token}, "A");
  EXPECT_FALSE(a_done.lease_was_ours);
  EXPECT_TRUE(a_done.written);
  const Acquired still_held = acquire(*client_, k_key, 0);
  EXPECT_EQ(still_held.kind, Kind::held);
  EXPECT_EQ(still_held.token, b.token);

  // B's newer answer replaces A's.
  const Completed b_done = completed(*other_, k_key, {Completion::Kind::shared, b.token}, "B");
  EXPECT_TRUE(b_done.lease_was_ours);
  EXPECT_TRUE(b_done.written);
  const Acquired seen = acquire(*client_, k_key, b.token);
  EXPECT_EQ(seen.kind, Kind::answer);
  EXPECT_EQ(seen.answer, "B");
}

TEST_F(FleetLeaseTest, RenewExtendsOnlyTheHoldersLiveLease) {
  const Acquired holder = acquire(*client_, k_key, 0, 1s);
  ASSERT_EQ(holder.kind, Kind::won);
  const Acquired before = acquire(*other_, k_key, 0);
  ASSERT_EQ(before.kind, Kind::held);
  ASSERT_LE(before.lease_left, 1s);

  auto renewed = await(io_, client_->renew(k_key, holder.token, 30s));
  ASSERT_TRUE(renewed.ok()) << renewed.error().message;
  EXPECT_TRUE(renewed.value());
  const Acquired after = acquire(*other_, k_key, 0);
  ASSERT_EQ(after.kind, Kind::held);
  EXPECT_GT(after.lease_left, 1s);
  EXPECT_LE(after.lease_left, 30s);

  // Another token (a waiter, or a holder that was taken over) renews nothing.
  auto wrong = await(io_, other_->renew(k_key, holder.token + 1, 60s));
  ASSERT_TRUE(wrong.ok()) << wrong.error().message;
  EXPECT_FALSE(wrong.value());
  const Acquired unchanged = acquire(*other_, k_key, 0);
  EXPECT_LE(unchanged.lease_left, 30s);

  // Released by its completion: nothing left to renew, and renewing does not bring it back.
  ASSERT_TRUE(
      completed(*client_, k_key, {Completion::Kind::local, holder.token}, "").lease_was_ours);
  auto gone = await(io_, client_->renew(k_key, holder.token, 30s));
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_FALSE(gone.value());
  EXPECT_EQ(acquire(*other_, k_key, 0).kind, Kind::won);
}

TEST_F(FleetLeaseTest, RenewAfterTheLeaseExpiredFails) {
  const Acquired holder = acquire(*client_, k_key, 0, 50ms);
  ASSERT_EQ(holder.kind, Kind::won);
  wait_until_lease_expired(k_key);
  auto late = await(io_, client_->renew(k_key, holder.token, 30s));
  ASSERT_TRUE(late.ok()) << late.error().message;
  EXPECT_FALSE(late.value());
  EXPECT_EQ(acquire(*other_, k_key, 0).kind, Kind::won);
}

TEST_F(FleetLeaseTest, AWaiterThatAcceptsStaleGetsTheOlderAnswerWhileANewHolderCalls) {
  const Acquired first = acquire(*client_, k_key, 0);
  ASSERT_EQ(first.kind, Kind::won);
  ASSERT_TRUE(completed(*client_, k_key, {Completion::Kind::shared, first.token}, "older").written);
  const Acquired second = acquire(*client_, k_key, 0);
  ASSERT_EQ(second.kind, Kind::won);

  const Acquired stale = acquire(*other_, k_key, second.token, 10s, true);
  EXPECT_EQ(stale.kind, Kind::stale);
  EXPECT_EQ(stale.token, second.token);
  EXPECT_GT(stale.lease_left, 0ms);
  EXPECT_EQ(stale.answer, "older");

  // Without stale_ok it only learns who holds the lease.
  const Acquired held = acquire(*other_, k_key, second.token, 10s, false);
  EXPECT_EQ(held.kind, Kind::held);
  EXPECT_TRUE(held.answer.empty());
}

TEST_F(FleetLeaseTest, NoStaleAnswerWhenThereIsNoAnswerAtAll) {
  ASSERT_EQ(acquire(*client_, k_key, 0).kind, Kind::won);
  EXPECT_EQ(acquire(*other_, k_key, 0, 10s, true).kind, Kind::held);
}

TEST_F(FleetLeaseTest, AWatchWakesWithTheCompletionPublishedByAnotherInstance) {
  FleetClient::Watch watch(client_, k_key);
  const Acquired holder = acquire(*other_, k_key, 0);
  ASSERT_EQ(holder.kind, Kind::won);
  auto heard = spawn(io_, watch.wait(holder.token, Clock::now() + 10s));
  ASSERT_TRUE(completed(*other_, k_key, {Completion::Kind::shared, holder.token}, "x").written);
  ASSERT_TRUE(run_until(io_, [&] { return heard->has_value(); }, 5s)) << "never woken";
  EXPECT_EQ((*heard)->kind, Completion::Kind::shared);
  EXPECT_EQ((*heard)->token, holder.token);

  // Already heard: a second wait for the same token returns at once.
  auto again = result_without_waiting(io_, watch.wait(holder.token, Clock::now() + 10s));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->kind, Completion::Kind::shared);
}

TEST_F(FleetLeaseTest, AWatchTimesOutWithKindNoneWhenNothingIsPublished) {
  FleetClient::Watch watch(client_, k_key);
  const Completion heard = await(io_, watch.wait(0, Clock::now() + 100ms));
  EXPECT_EQ(heard.kind, Completion::Kind::none);
}

TEST_F(FleetLeaseTest, AWatchIsNotWokenByAnotherKeysCompletion) {
  FleetClient::Watch watch(client_, k_key);
  FleetClient::Watch other_watch(client_, k_other_key);
  const Acquired holder = acquire(*other_, k_key, 0);
  ASSERT_EQ(holder.kind, Kind::won);
  auto heard = spawn(io_, watch.wait(holder.token, Clock::now() + 10s));

  // Another key's completion arrives (its own watch hears it) and leaves this wait alone.
  const Acquired elsewhere = acquire(*other_, k_other_key, 0);
  ASSERT_EQ(elsewhere.kind, Kind::won);
  auto other_heard = spawn(io_, other_watch.wait(elsewhere.token, Clock::now() + 10s));
  ASSERT_TRUE(
      completed(*other_, k_other_key, {Completion::Kind::shared, elsewhere.token}, "y").written);
  ASSERT_TRUE(run_until(io_, [&] { return other_heard->has_value(); }, 5s));
  EXPECT_EQ((*other_heard)->kind, Completion::Kind::shared);
  EXPECT_FALSE(heard->has_value()) << "woken by another key's completion";

  ASSERT_TRUE(
      completed(*other_, k_key, {Completion::Kind::local, holder.token}, "").lease_was_ours);
  ASSERT_TRUE(run_until(io_, [&] { return heard->has_value(); }, 5s)) << "never woken";
  EXPECT_EQ((*heard)->kind, Completion::Kind::local);
  EXPECT_EQ((*heard)->token, holder.token);
}

// Watch::wait promises "the newest completion with a token >= min_token, waiting for it until
// `until`": a late completion of an older holder (its lease expired and was taken over) must
// not end the wait of those waiting for the newer holder.
// (Found by this test: Watch::wait() used to return kind none at once on such a completion,
// costing every waiter in obtain() an early extra ACQUIRE round trip.)
TEST_F(FleetLeaseTest, AWatchIsNotEndedByAnOlderHoldersCompletion) {
  FleetClient::Watch watch(client_, k_key);
  const Acquired a = acquire(*other_, k_key, 0, 50ms);
  ASSERT_EQ(a.kind, Kind::won);
  wait_until_lease_expired(k_key);
  const Acquired b = acquire(*other_, k_key, a.token);
  ASSERT_EQ(b.kind, Kind::won);
  auto heard = spawn(io_, watch.wait(b.token, Clock::now() + 10s));

  // A's late completion, then B's: the channel is ordered, so once B's is heard, A's was
  // heard before it.
  ASSERT_FALSE(completed(*other_, k_key, {Completion::Kind::shared, a.token}, "A").lease_was_ours);
  ASSERT_TRUE(completed(*other_, k_key, {Completion::Kind::shared, b.token}, "B").lease_was_ours);
  ASSERT_TRUE(run_until(io_, [&] { return heard->has_value(); }, 5s)) << "never woken";
  EXPECT_EQ((*heard)->kind, Completion::Kind::shared) << "the wait ended on the older token";
  EXPECT_EQ((*heard)->token, b.token);
}

// A waiter polls every fleet_wait; a poll that crosses the holder's "keep it" (l) completion
// must not win a new lease (and call as a holder the others would then wait for): the marker
// the completion leaves tells it to call on its own, while a request that comes later (no
// min_token) still makes its own call.
TEST_F(FleetLeaseTest, AnAskCrossingAKeptAnswersCompletionIsToldToCallOnItsOwn) {
  const Acquired holder = acquire(*client_, k_key, 0);
  ASSERT_EQ(holder.kind, Kind::won);
  ASSERT_EQ(acquire(*other_, k_key, 0).kind, Kind::held);
  ASSERT_TRUE(
      completed(*client_, k_key, {Completion::Kind::local, holder.token}, "").lease_was_ours);

  const Acquired crossing = acquire(*other_, k_key, holder.token);
  EXPECT_EQ(crossing.kind, Kind::unshared);
  EXPECT_EQ(crossing.token, holder.token);
  const Acquired later = acquire(*other_, k_key, 0);
  EXPECT_EQ(later.kind, Kind::won);
  EXPECT_GT(later.token, holder.token);
}

TEST_F(FleetLeaseTest, RedisDownFailsAcquireAndCompleteFastInsteadOfHanging) {
  server_->kill();
  // The first command may meet the dying connection: it ends with the connection (the
  // command_timeout is 60 s, await() gives up after 5 s).
  auto during = await(io_, client_->acquire(k_key, 0, 10s, false));
  ASSERT_FALSE(during.ok());
  EXPECT_EQ(during.error().kind, RedisErrorKind::not_connected) << during.error().message;
  ASSERT_TRUE(run_until(io_, [&] { return !client_->listening(); }, 5s));

  auto down = await(io_, client_->acquire(k_key, 0, 10s, false));
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().kind, RedisErrorKind::not_connected) << down.error().message;
  auto renew = await(io_, client_->renew(k_key, 1, 10s));
  ASSERT_FALSE(renew.ok());
  const auto outcome = complete(*client_, k_key, {Completion::Kind::shared, 1}, "x");
  ASSERT_FALSE(outcome.ok());
}

}  // namespace
}  // namespace levee::testing
