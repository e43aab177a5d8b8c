// The holder's side of FleetClient (hold / finish, fleet_holder.cpp) against a real
// redis-server: a lease nobody waited for costs no round trip after its call (its release rides
// along with the next acquire, or goes by itself after release_delay), a lease somebody waited
// for is completed at once, and an instance whose ask crossed the call's end still gets the
// kept answer. The lease scripts alone are in fleet_lease_test.cpp.
//
// What Redis holds is read with redis-cli (EXISTS); "nothing was sent" is read from the
// client's own queue and from Redis, never from a pause.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "layers/collapse/fleet/fleet_answer.hpp"
#include "layers/collapse/fleet/fleet_client.hpp"
#include "layers/collapse/fleet/fleet_rules.hpp"
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
using layers::collapse::fleet::Completion;
using layers::collapse::fleet::decode_answer;
using layers::collapse::fleet::FleetClient;
using layers::collapse::fleet::FleetCounters;
using layers::collapse::fleet::FleetRules;
using layers::collapse::fleet::lease_key;
using layers::collapse::fleet::LeaseOutcome;
using redis::RedisSettings;
using Clock = std::chrono::steady_clock;
using Kind = Acquired::Kind;

const std::string k_key = lease_key("items", "legacy", "GET /items/1");
const std::string k_next_key = lease_key("items", "legacy", "GET /items/2");

class FleetHolderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    server_.emplace(unused_port());
    rules_ = std::make_shared<FleetRules>();
    rules_->route = "items";
    rules_->upstream = "legacy";
    rules_->lease_ttl = 10s;
    rules_->fleet_wait = 60s;  // a kept answer outlives every test unless a test says otherwise
  }

  void TearDown() override {
    for (auto* client : {&holder_, &waiter_}) {
      if (*client) (*client)->shutdown();
    }
  }

  std::shared_ptr<FleetClient> connected_client(std::chrono::milliseconds release_delay) {
    RedisSettings settings;
    settings.port = server_->port();
    settings.command_timeout = 60s;
    settings.connect_timeout = 1s;
    return connected_fleet_client(io_, settings, release_delay);
  }

  Acquired acquire(FleetClient& client, const std::string& key, std::uint64_t min_token = 0) {
    auto result = await(io_, client.acquire(key, min_token, rules_->lease_ttl, false));
    if (!result.ok()) throw std::runtime_error("acquire failed: " + result.error().message);
    return std::move(result.value());
  }

  // Won and held by holder_.
  std::uint64_t hold(const std::string& key) {
    const Acquired won = acquire(*holder_, key);
    if (won.kind != Kind::won) throw std::runtime_error("the lease was not won");
    holder_->hold(key, won.token, rules_, counters_, false);
    return won.token;
  }

  // waiter_ asks for `key` while holder_'s lease `token` still stands in Redis (its script
  // publishes the w), then waits for the holder's completion.
  Completion ask_and_wait(const std::string& key, std::uint64_t token) {
    FleetClient::Watch watch(waiter_, key);
    const Acquired asked = acquire(*waiter_, key);
    if (asked.kind != Kind::held || asked.token != token) {
      throw std::runtime_error("the lease was not held by the holder");
    }
    return await(io_, watch.wait(token, Clock::now() + 10s));
  }

  [[nodiscard]] bool exists(const std::string& what, const std::string& key) const {
    return redis_cli(server_->port(), {"EXISTS", "fleet:" + what + ":" + key}) == "1\n";
  }

  static core::Response answer(std::string body) {
    core::Response response = core::Response::text(200, std::move(body));
    response.headers.add("cache-control", "max-age=60");
    return response;
  }

  asio::io_context io_;
  std::optional<RedisServer> server_;
  std::shared_ptr<FleetRules> rules_;
  std::shared_ptr<FleetCounters> counters_ = std::make_shared<FleetCounters>();
  std::shared_ptr<FleetClient> holder_;
  std::shared_ptr<FleetClient> waiter_;
};

TEST_F(FleetHolderTest, ALeaseNobodyWaitedForIsReleasedByTheNextAskWithoutARoundTripOfItsOwn) {
  holder_ = connected_client(60s);  // no release goes by itself within the test
  const std::uint64_t token = hold(k_key);
  holder_->finish(k_key, token, answer("first"));

  // Nothing went to Redis: the lease still stands, no answer was written, the release waits.
  EXPECT_EQ(holder_->held(), 0U);
  EXPECT_EQ(holder_->kept(), 1U);
  EXPECT_EQ(holder_->releases_queued(), 1U);
  EXPECT_TRUE(exists("lease", k_key));
  EXPECT_FALSE(exists("answer", k_key));

  // The next ask, for another key, carries the release along.
  EXPECT_EQ(acquire(*holder_, k_next_key).kind, Kind::won);
  EXPECT_EQ(holder_->releases_queued(), 0U);
  EXPECT_FALSE(exists("lease", k_key));
  EXPECT_TRUE(exists("lease", k_next_key));
  EXPECT_FALSE(exists("answer", k_key));
  EXPECT_EQ(counters_->commands.load(), 0U) << "hold and finish sent no command of their own";
}

// A release must not be lost with an ask that failed: the lease would then stand until
// lease_ttl, and an instance asking for that key would wait for it.
TEST_F(FleetHolderTest, AReleaseCarriedByAFailedAskIsQueuedAgain) {
  holder_ = connected_client(60s);
  const std::uint64_t token = hold(k_key);
  holder_->finish(k_key, token, answer("first"));
  ASSERT_EQ(holder_->releases_queued(), 1U);
  server_->kill();
  ASSERT_TRUE(run_until(io_, [&] { return !holder_->listening(); }, 5s));
  auto failed = await(io_, holder_->acquire(k_next_key, 0, rules_->lease_ttl, false));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(holder_->releases_queued(), 1U) << "the carried release was dropped";
}

TEST_F(FleetHolderTest, AReleaseNoAskCarriesGoesByItselfAfterTheReleaseDelay) {
  holder_ = connected_client(20ms);
  const std::uint64_t token = hold(k_key);
  holder_->finish(k_key, token, answer("first"));
  ASSERT_TRUE(exists("lease", k_key));
  ASSERT_TRUE(run_until(
      io_, [&] { return !exists("lease", k_key); }, 5s))
      << "the queued release was never sent";
  EXPECT_EQ(holder_->releases_queued(), 0U);
  EXPECT_EQ(counters_->commands.load(), 1U) << "one release batch";
}

TEST_F(FleetHolderTest, ReleaseAllSendsEveryQueuedReleaseBeforeShutdown) {
  holder_ = connected_client(60s);
  const std::uint64_t first = hold(k_key);
  const std::uint64_t second = hold(k_next_key);
  holder_->finish(k_key, first, answer("a"));
  holder_->finish(k_next_key, second, answer("b"));
  ASSERT_EQ(holder_->releases_queued(), 2U);
  const bool released =
      await(io_, [](std::shared_ptr<FleetClient> client) -> asio::awaitable<bool> {
        co_await client->release_all();
        co_return true;
      }(holder_));
  ASSERT_TRUE(released);
  EXPECT_EQ(holder_->releases_queued(), 0U);
  EXPECT_FALSE(exists("lease", k_key));
  EXPECT_FALSE(exists("lease", k_next_key));
}

TEST_F(FleetHolderTest, ALeaseSomebodyWaitedForIsCompletedAtOnceWithItsAnswer) {
  holder_ = connected_client(60s);
  waiter_ = connected_client(60s);
  const std::uint64_t token = hold(k_key);
  FleetClient::Watch watch(waiter_, k_key);
  const Acquired waiting = acquire(*waiter_, k_key);
  ASSERT_EQ(waiting.kind, Kind::held);
  ASSERT_EQ(waiting.token, token);
  auto heard = spawn(io_, watch.wait(token, Clock::now() + 10s));
  // The holder hears the waiter's `w` while its call runs; nothing is sent for it yet.
  (void)run_until(io_, [] { return false; }, 50ms);
  EXPECT_FALSE(heard->has_value());

  holder_->finish(k_key, token, answer("shared"));
  EXPECT_EQ(holder_->kept(), 0U) << "completed, not kept";
  EXPECT_EQ(holder_->releases_queued(), 0U);
  ASSERT_TRUE(run_until(io_, [&] { return heard->has_value(); }, 5s)) << "never completed";
  EXPECT_EQ((*heard)->kind, Completion::Kind::shared);
  EXPECT_FALSE(exists("lease", k_key));

  const Acquired got = acquire(*waiter_, k_key, token);
  ASSERT_EQ(got.kind, Kind::answer);
  const auto decoded = decode_answer(got.answer);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->body_view(), "shared\n");  // Response::text ends its line
}

// The `w` of an ask right after the lease was set may arrive (on the subscriber connection)
// before the lease script's reply (on the command connection): the slot's Watch, made before
// its ask, hears it, and the lease starts out as waited for.
TEST_F(FleetHolderTest, AWaiterHeardBeforeTheLeaseWasKnownToBeOursStillGetsTheAnswerAtOnce) {
  holder_ = connected_client(60s);
  waiter_ = connected_client(60s);
  FleetClient::Watch asking(holder_, k_key);
  const Acquired won = acquire(*holder_, k_key);
  ASSERT_EQ(won.kind, Kind::won);
  EXPECT_FALSE(asking.waited_for(won.token));
  FleetClient::Watch watch(waiter_, k_key);
  ASSERT_EQ(acquire(*waiter_, k_key).kind, Kind::held);
  ASSERT_TRUE(run_until(
      io_, [&] { return asking.waited_for(won.token); }, 5s))
      << "the waiter's w never reached the asking slot";

  holder_->hold(k_key, won.token, rules_, counters_, asking.waited_for(won.token));
  holder_->finish(k_key, won.token, answer("early"));
  EXPECT_EQ(holder_->kept(), 0U) << "completed at once, not kept";
  const Completion heard = await(io_, watch.wait(won.token, Clock::now() + 10s));
  EXPECT_EQ(heard.kind, Completion::Kind::shared);
}

TEST_F(FleetHolderTest, AnAskThatCrossedTheCallsEndGetsTheKeptAnswer) {
  holder_ = connected_client(60s);
  waiter_ = connected_client(60s);
  const std::uint64_t token = hold(k_key);
  holder_->finish(k_key, token, answer("kept"));
  ASSERT_EQ(holder_->kept(), 1U);

  // Another instance asks while the lease is still in Redis: its `w` reaches the holder after
  // the call ended, and the holder completes with the answer it kept.
  EXPECT_EQ(ask_and_wait(k_key, token).kind, Completion::Kind::shared);
  const Acquired got = acquire(*waiter_, k_key, token);
  ASSERT_EQ(got.kind, Kind::answer);
  const auto decoded = decode_answer(got.answer);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->body_view(), "kept\n");
  EXPECT_FALSE(exists("lease", k_key));
  EXPECT_EQ(counters_->leases[static_cast<std::size_t>(LeaseOutcome::expired)].load(), 0U);
}

TEST_F(FleetHolderTest, AnAskThatCrossedAnAnswerlessEndIsToldToTakeTheLeaseOver) {
  holder_ = connected_client(60s);
  waiter_ = connected_client(60s);
  const std::uint64_t token = hold(k_key);
  holder_->finish(k_key, token, std::nullopt);  // every member left: no answer

  EXPECT_EQ(ask_and_wait(k_key, token).kind, Completion::Kind::abandoned);
  const Acquired next = acquire(*waiter_, k_key, token);
  EXPECT_EQ(next.kind, Kind::won);
  EXPECT_GT(next.token, token);
}

TEST_F(FleetHolderTest, AnUnsharedAnswerIsNeverKeptAndALateAskIsToldToCallOnItsOwn) {
  holder_ = connected_client(60s);
  waiter_ = connected_client(60s);
  const std::uint64_t token = hold(k_key);
  core::Response cookie = answer("mine");
  cookie.headers.add("set-cookie", "session=1");
  holder_->finish(k_key, token, cookie);

  EXPECT_EQ(ask_and_wait(k_key, token).kind, Completion::Kind::local);
  // Redis holds the marker, not the answer.
  const Acquired after = acquire(*waiter_, k_key, token);
  EXPECT_EQ(after.kind, Kind::unshared);
  EXPECT_EQ(redis_cli(server_->port(), {"STRLEN", "fleet:answer:" + k_key}),
            std::to_string(std::to_string(token).size() + 1) + "\n");
}

TEST_F(FleetHolderTest, AKeptAnswerIsForgottenAfterFleetWait) {
  rules_->fleet_wait = 30ms;
  holder_ = connected_client(60s);
  const std::uint64_t token = hold(k_key);
  holder_->finish(k_key, token, answer("brief"));
  ASSERT_EQ(holder_->kept(), 1U);
  ASSERT_TRUE(run_until(io_, [&] { return holder_->kept() == 0; }, 5s)) << "never forgotten";
}

TEST_F(FleetHolderTest, KeptLeasesAndQueuedReleasesStayBoundedWhateverTheRate) {
  rules_->fleet_wait = std::chrono::minutes(10);  // the longest the config allows
  holder_ = connected_client(60s);
  // More quiet finishes than either bound, faster than anything is forgotten or sent. No lease
  // needs to be in Redis for the client's bookkeeping.
  const std::size_t finishes = FleetClient::k_max_kept_leases + 1000;
  for (std::size_t i = 0; i < finishes; ++i) {
    const std::string key = lease_key("items", "legacy", "GET /n/" + std::to_string(i));
    holder_->hold(key, i + 1, rules_, counters_, false);
    holder_->finish(key, i + 1, answer("x"));
  }
  EXPECT_EQ(holder_->kept(), FleetClient::k_max_kept_leases);
  EXPECT_EQ(holder_->releases_queued(), FleetClient::k_max_queued_releases);
  EXPECT_EQ(holder_->held(), 0U);
}

TEST_F(FleetHolderTest, ARouteThatServesStaleAnswersWritesEveryAnswer) {
  rules_->stale = 10s;
  holder_ = connected_client(60s);
  const std::uint64_t token = hold(k_key);
  holder_->finish(k_key, token, answer("for later"));
  EXPECT_EQ(holder_->kept(), 0U);
  ASSERT_TRUE(run_until(io_, [&] { return exists("answer", k_key); }, 5s));
  EXPECT_FALSE(exists("lease", k_key));
}

TEST_F(FleetHolderTest, ALongCallKeepsItsLeaseByRenewingIt) {
  rules_->lease_ttl = 300ms;
  holder_ = connected_client(60s);
  waiter_ = connected_client(60s);
  const std::uint64_t token = hold(k_key);
  // Three lease lifetimes later the lease is still the holder's: renewed every lease_ttl / 2.
  const auto until = Clock::now() + 900ms;
  ASSERT_FALSE(run_until(
      io_, [&] { return !exists("lease", k_key); }, until - Clock::now()))
      << "the lease expired while its call ran";
  EXPECT_GE(counters_->commands.load(), 3U) << "renewals";
  const Acquired seen = acquire(*waiter_, k_key);
  EXPECT_EQ(seen.kind, Kind::held);
  EXPECT_EQ(seen.token, token);
  EXPECT_EQ(counters_->leases[static_cast<std::size_t>(LeaseOutcome::expired)].load(), 0U);
}

}  // namespace
}  // namespace levee::testing
