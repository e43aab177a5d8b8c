// FleetClient::acquire against a real redis-server when many slots ask at once: the asks made
// while a script is out go together in the next one (one round trip for each, far fewer
// scripts than asks), each ask still gets its own key's outcome, and an ask whose asker was
// cancelled does not leave the lease it won standing until lease_ttl.
//
// What Redis holds is read with redis-cli; how many scripts went is read from the client's
// counters and from redis-server's INFO commandstats.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

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
using layers::collapse::fleet::FleetClient;
using layers::collapse::fleet::lease_key;
using Kind = Acquired::Kind;
using AskResult = redis::RedisResult<Acquired>;

class FleetAsksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }

  void SetUp() override { server_.emplace(unused_port()); }

  void TearDown() override {
    for (auto* client : {&client_, &other_}) {
      if (*client) (*client)->shutdown();
    }
  }

  std::shared_ptr<FleetClient> connected_client(
      std::chrono::milliseconds release_delay = FleetClient::k_release_delay) {
    redis::RedisSettings settings;
    settings.port = server_->port();
    settings.command_timeout = 60s;
    settings.connect_timeout = 1s;
    return connected_fleet_client(io_, settings, release_delay);
  }

  [[nodiscard]] std::string redis(std::vector<std::string> args) const {
    return redis_cli(server_->port(), std::move(args));
  }

  // EVALSHA and EVAL calls redis-server has run, from INFO commandstats.
  [[nodiscard]] long scripts_run() const {
    const std::string stats = redis({"INFO", "commandstats"});
    long calls = 0;
    const std::regex line(R"(cmdstat_(evalsha|eval):calls=(\d+))");
    for (std::sregex_iterator it(stats.begin(), stats.end(), line), end; it != end; ++it) {
      calls += std::stol((*it)[2].str());
    }
    return calls;
  }

  // Runs the io_context until every ask has its result (false after 10 s).
  bool all_answered(const std::vector<std::shared_ptr<std::optional<AskResult>>>& results) {
    return run_until(
        io_,
        [&] {
          return std::all_of(results.begin(), results.end(),
                             [](const auto& result) { return result->has_value(); });
        },
        10s);
  }

  asio::io_context io_;
  std::optional<RedisServer> server_;
  std::shared_ptr<FleetClient> client_;
  std::shared_ptr<FleetClient> other_;
};

TEST_F(FleetAsksTest, ManyAsksAtOnceShareFewScriptsAndEachGetsItsOwnKeysOutcome) {
  client_ = connected_client();
  other_ = connected_client();
  // One key another instance holds already: its ask in the shared script finds it held.
  const std::string held_key = lease_key("items", "legacy", "GET /items/held");
  const auto held = await(io_, other_->acquire(held_key, 0, 10s, false));
  ASSERT_TRUE(held.ok());
  ASSERT_EQ(held.value().kind, Kind::won);

  const long scripts_before = scripts_run();
  const std::uint64_t client_scripts_before = client_->acquire_scripts();
  constexpr int k_asks = 40;
  std::vector<std::string> keys;
  std::vector<std::shared_ptr<std::optional<AskResult>>> results;
  for (int i = 0; i < k_asks; ++i) {
    keys.push_back(i == 7 ? held_key
                          : lease_key("items", "legacy", "GET /items/" + std::to_string(i)));
    results.push_back(spawn(io_, client_->acquire(keys.back(), 0, 10s, false)));
  }
  ASSERT_TRUE(all_answered(results));

  for (int i = 0; i < k_asks; ++i) {
    const AskResult& result = **results[static_cast<std::size_t>(i)];
    ASSERT_TRUE(result.ok()) << "ask " << i << ": " << result.error().message;
    const Acquired& got = result.value();
    if (i == 7) {
      EXPECT_EQ(got.kind, Kind::held);
      EXPECT_EQ(got.token, held.value().token);
      EXPECT_GT(got.lease_left.count(), 0);
      continue;
    }
    ASSERT_EQ(got.kind, Kind::won) << "ask " << i;
    // Each won lease is in Redis under its own key, with its own token.
    EXPECT_EQ(redis({"GET", "fleet:lease:" + keys[static_cast<std::size_t>(i)]}),
              std::to_string(got.token) + "\n")
        << "ask " << i;
  }
  // The first asks go at once (a script each, up to k_scripts_in_flight); the others wait for
  // a script to return and go together.
  const std::uint64_t sent = client_->acquire_scripts() - client_scripts_before;
  EXPECT_LE(sent, 2 * FleetClient::k_scripts_in_flight);
  EXPECT_GE(sent, 2U);
  EXPECT_EQ(scripts_run() - scripts_before, static_cast<long>(sent));
}

TEST_F(FleetAsksTest, MoreAsksThanOneScriptTakesGoInSeveral) {
  client_ = connected_client();
  const std::uint64_t before = client_->acquire_scripts();
  const std::size_t asks = 3 * FleetClient::k_asks_per_script;
  std::vector<std::shared_ptr<std::optional<AskResult>>> results;
  for (std::size_t i = 0; i < asks; ++i) {
    results.push_back(spawn(
        io_, client_->acquire(lease_key("items", "legacy", std::to_string(i)), 0, 10s, false)));
  }
  ASSERT_TRUE(all_answered(results));
  std::size_t won = 0;
  for (const auto& result : results) {
    if ((*result)->ok() && (*result)->value().kind == Kind::won) ++won;
  }
  EXPECT_EQ(won, asks);
  EXPECT_EQ(redis({"GET", "fleet:fence"}), std::to_string(asks) + "\n");
  // At least asks / k_asks_per_script scripts, and far fewer than one per ask.
  const std::uint64_t sent = client_->acquire_scripts() - before;
  EXPECT_GE(sent, 3U);
  EXPECT_LE(sent, 3U + 2 * FleetClient::k_scripts_in_flight);
  EXPECT_EQ(client_->asks(), asks);
}

TEST_F(FleetAsksTest, ALeaseWonForACancelledAskIsReleased) {
  client_ = connected_client(5ms);
  const std::string key = lease_key("items", "legacy", "GET /items/cancelled");
  asio::cancellation_signal cancel;
  auto result = std::make_shared<std::optional<AskResult>>();
  asio::co_spawn(io_, store_into(client_->acquire(key, 0, 10s, false), result),
                 asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  // The script is out (sent inline by the ask) to a Redis that answers nothing yet; the asker
  // gives up before the reply can come.
  server_->pause();
  ASSERT_TRUE(done_without_waiting(io_, [&] { return client_->asks() == 1; }));
  cancel.emit(asio::cancellation_type::terminal);
  ASSERT_TRUE(run_until(io_, [&] { return result->has_value(); }, 5s));
  ASSERT_FALSE(result->value().ok());
  EXPECT_EQ(result->value().error().kind, redis::RedisErrorKind::cancelled);
  server_->resume();

  // The script still won the lease; nobody holds it, so it is released (release_delay 5 ms)
  // instead of standing for lease_ttl (10 s).
  ASSERT_TRUE(run_until(io_, [&] { return redis({"GET", "fleet:fence"}) == "1\n"; }, 5s));
  EXPECT_TRUE(run_until(
      io_,
      [&] {
        return client_->releases_queued() == 0 && redis({"EXISTS", "fleet:lease:" + key}) == "0\n";
      },
      5s));
}

}  // namespace
}  // namespace levee::testing
