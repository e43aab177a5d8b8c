// RedisClient against a real redis-server on an ephemeral 127.0.0.1 port: round trips,
// expiry, and the failure paths (server down, killed, paused, overloaded, client destroyed or
// its caller cancelled mid-command). "Fails at once" is checked without a clock: the command
// completes while the io_context runs only handlers that are already ready, so it waited for
// no timer (its command_timeout, set far longer) and no reply.

#include "redis/redis_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "levee_fixture.hpp"
#include "support/io_steps.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace levee::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using redis::RedisClient;
using redis::RedisErrorKind;
using redis::RedisResult;
using redis::RedisSettings;
using Clock = std::chrono::steady_clock;
using GetResult = RedisResult<std::optional<std::string>>;

void run_for(asio::io_context& io, Clock::duration duration) {
  (void)run_until(io, [] { return false; }, duration);
}

class RedisClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // As in levee's main: hiredis writes with write(2), which raises SIGPIPE on a dead peer.
    std::signal(SIGPIPE, SIG_IGN);
  }
  [[nodiscard]] static RedisSettings settings_for(std::uint16_t port) {
    RedisSettings settings;
    settings.port = port;
    // Generous, so that a slow (sanitized) build does not fail the happy paths; the tests of
    // the timeout itself set their own.
    settings.command_timeout = 2s;
    settings.connect_timeout = 1s;
    settings.reconnect_backoff_min = 20ms;
    settings.reconnect_backoff_max = 200ms;
    return settings;
  }

  void wait_connected(RedisClient& client) {
    ASSERT_TRUE(run_until(
        io_, [&] { return client.connected(); }, 5s))
        << "not connected; connect failures " << client.stats().connect_failures;
  }

  asio::io_context io_;
};

std::string binary_value() {
  std::string value;
  for (int round = 0; round < 4; ++round) {
    for (int byte = 0; byte < 256; ++byte) value.push_back(static_cast<char>(byte));
  }
  value.insert(0, std::string("\0\0head\r\n", 8));
  return value;
}

TEST_F(RedisClientTest, SetThenGetRoundTripsBinaryValues) {
  RedisServer server(unused_port());
  RedisClient client(io_.get_executor(), settings_for(server.port()));
  wait_connected(client);

  const std::string binary = binary_value();
  ASSERT_TRUE(await(io_, client.set(std::string("bin\0key", 7), binary, 10s)).ok());
  auto got = await(io_, client.get(std::string("bin\0key", 7)));
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got.value().has_value());
  EXPECT_EQ(*got.value(), binary);

  std::string big(1u << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) % 251);
  ASSERT_TRUE(await(io_, client.set("big", big, 10s)).ok());
  auto big_got = await(io_, client.get("big"));
  ASSERT_TRUE(big_got.ok()) << big_got.error().message;
  ASSERT_TRUE(big_got.value().has_value());
  EXPECT_EQ(big_got.value()->size(), big.size());
  EXPECT_TRUE(*big_got.value() == big);

  ASSERT_TRUE(await(io_, client.set("empty", "", 10s)).ok());
  auto empty = await(io_, client.get("empty"));
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(empty.value().has_value());
  EXPECT_EQ(*empty.value(), "");

  EXPECT_EQ(client.stats().commands_sent, 6u);
  EXPECT_EQ(client.stats().replies, 6u);
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST_F(RedisClientTest, GetOfMissingKeyIsNullopt) {
  RedisServer server(unused_port());
  RedisClient client(io_.get_executor(), settings_for(server.port()));
  wait_connected(client);
  auto got = await(io_, client.get("never-set"));
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_FALSE(got.value().has_value());
}

TEST_F(RedisClientTest, ValueExpiresAfterItsTtl) {
  RedisServer server(unused_port());
  RedisClient client(io_.get_executor(), settings_for(server.port()));
  wait_connected(client);
  const auto set_at = Clock::now();
  ASSERT_TRUE(await(io_, client.set("short", "lived", 50ms)).ok());
  const auto deadline = set_at + 3s;
  bool gone = false;
  while (!gone && Clock::now() < deadline) {
    auto got = await(io_, client.get("short"));
    ASSERT_TRUE(got.ok()) << got.error().message;
    gone = !got.value().has_value();
    if (!gone) run_for(io_, 5ms);
  }
  EXPECT_TRUE(gone) << "key still present 3s after PX 50";
  EXPECT_GE(Clock::now() - set_at, 40ms);
}

TEST_F(RedisClientTest, DelRemovesTheKeyAndSucceedsOnAMissingOne) {
  RedisServer server(unused_port());
  RedisClient client(io_.get_executor(), settings_for(server.port()));
  wait_connected(client);
  ASSERT_TRUE(await(io_, client.set("doomed", "x", 10s)).ok());
  ASSERT_TRUE(await(io_, client.del("doomed")).ok());
  auto got = await(io_, client.get("doomed"));
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got.value().has_value());
  EXPECT_TRUE(await(io_, client.del("doomed")).ok());
}

TEST(RedisScript, IsNamedByTheSha1RedisGivesIt) {
  // The digest Redis's own documentation gives for this script (SCRIPT LOAD "return 1").
  const redis::RedisScript script("return 1");
  EXPECT_EQ(script.sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  EXPECT_EQ(script.text(), "return 1");
}

TEST_F(RedisClientTest, ScriptIsSentBySha1AndInFullOnlyWhenRedisDoesNotKnowIt) {
  RedisServer server(unused_port());
  RedisClient client(io_.get_executor(), settings_for(server.port()));
  wait_connected(client);
  static const redis::RedisScript script("return {KEYS[1], ARGV[1]}");
  const auto calls = [&](std::string_view command) {
    const std::string stats = redis_cli(server.port(), {"INFO", "commandstats"});
    const std::string tag = "cmdstat_" + std::string(command) + ":calls=";
    const auto at = stats.find(tag);
    return at == std::string::npos ? 0 : std::stoi(stats.substr(at + tag.size()));
  };
  const auto run = [&] {
    auto reply = await(io_, client.eval(script, {"k"}, {"a"}));
    ASSERT_TRUE(reply.ok()) << reply.error().message;
    ASSERT_EQ(reply.value().elements.size(), 2U);
    EXPECT_EQ(reply.value().elements[0].text, "k");
    EXPECT_EQ(reply.value().elements[1].text, "a");
  };
  // A fresh server: EVALSHA is refused (NOSCRIPT), the script goes once in full.
  run();
  EXPECT_EQ(calls("evalsha"), 1);
  EXPECT_EQ(calls("eval"), 1);
  run();
  run();
  EXPECT_EQ(calls("evalsha"), 3);
  EXPECT_EQ(calls("eval"), 1);
  // Forgotten (SCRIPT FLUSH, as after a restart): sent in full again, once.
  ASSERT_EQ(redis_cli(server.port(), {"SCRIPT", "FLUSH"}), "OK\n");
  run();
  run();
  EXPECT_EQ(calls("evalsha"), 5);
  EXPECT_EQ(calls("eval"), 2);
}

TEST_F(RedisClientTest, KeyPrefixIsPrependedToEveryKey) {
  RedisServer server(unused_port());
  auto prefixed_settings = settings_for(server.port());
  prefixed_settings.key_prefix = "levee:v1:";
  RedisClient prefixed(io_.get_executor(), prefixed_settings);
  RedisClient plain(io_.get_executor(), settings_for(server.port()));
  wait_connected(prefixed);
  wait_connected(plain);
  ASSERT_TRUE(await(io_, prefixed.set("k", "v", 10s)).ok());
  auto raw = await(io_, plain.get("levee:v1:k"));
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw.value().value_or("<none>"), "v");
  auto unprefixed = await(io_, plain.get("k"));
  ASSERT_TRUE(unprefixed.ok());
  EXPECT_FALSE(unprefixed.value().has_value());
}

TEST_F(RedisClientTest, ServerNotRunningFailsFastWithNotConnected) {
  auto settings = settings_for(unused_port());
  settings.command_timeout = 60s;  // a command that waited for anything would never finish here
  RedisClient client(io_.get_executor(), settings);
  auto first = result_without_waiting(io_, client.get("k"));
  ASSERT_TRUE(first.has_value()) << "the command waited instead of failing at once";
  const GetResult& got = *first;
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, RedisErrorKind::not_connected);

  run_for(io_, 300ms);  // keeps retrying in the background, never blocking
  EXPECT_FALSE(client.connected());
  EXPECT_GE(client.stats().connect_failures, 2u);
  auto again = await(io_, client.set("k", "v", 1s));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, RedisErrorKind::not_connected);
  EXPECT_EQ(client.stats().errors_of(RedisErrorKind::not_connected), 2u);
  EXPECT_EQ(client.stats().commands_sent, 0u);
}

TEST_F(RedisClientTest, ConnectThatDoesNotFinishIsAbandonedAfterConnectTimeout) {
  // A listener with a full accept queue: the kernel drops further SYNs, so a connect to it
  // stays in progress until someone gives up.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 0), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) {
    const int filler = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    (void)::connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof address);
    fillers.push_back(filler);
  }
  std::this_thread::sleep_for(50ms);

  auto settings = settings_for(ntohs(address.sin_port));
  settings.connect_timeout = 100ms;
  settings.reconnect_backoff_min = 50ms;
  settings.reconnect_backoff_max = 50ms;
  {
    RedisClient client(io_.get_executor(), settings);
    const auto start = Clock::now();
    ASSERT_TRUE(run_until(
        io_, [&] { return client.stats().connect_failures >= 3; }, 3s))
        << "connect failures: " << client.stats().connect_failures;
    // Three attempts of 100ms with 50ms pauses: abandoned on time, not left hanging.
    EXPECT_GE(Clock::now() - start, 300ms);
    EXPECT_FALSE(client.connected());
    auto got = await(io_, client.get("k"));
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().kind, RedisErrorKind::not_connected);
  }  // destroyed while an attempt is in progress
  run_for(io_, 50ms);
  for (const int fd : fillers) ::close(fd);
  ::close(listener);
}

TEST_F(RedisClientTest, ServerKilledMidUseFailsFastThenReconnectsAfterRestart) {
  RedisServer server(unused_port());
  auto settings = settings_for(server.port());
  settings.command_timeout = 300ms;
  RedisClient client(io_.get_executor(), settings);
  wait_connected(client);
  ASSERT_TRUE(await(io_, client.set("k", "before", 10s)).ok());

  server.kill();
  // Ended by the lost connection or by the 300 ms command_timeout, whichever comes first;
  // await()'s 5 s only stops a hung test.
  auto during = await(io_, client.get("k"));
  ASSERT_FALSE(during.ok());
  EXPECT_TRUE(during.error().kind == RedisErrorKind::not_connected ||
              during.error().kind == RedisErrorKind::timeout)
      << during.error().message;
  ASSERT_TRUE(run_until(io_, [&] { return !client.connected(); }, 2s));

  auto not_connected = result_without_waiting(io_, client.get("k"));
  ASSERT_TRUE(not_connected.has_value()) << "the command waited instead of failing at once";
  const GetResult& down = *not_connected;
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().kind, RedisErrorKind::not_connected);
  run_for(io_, 300ms);  // a few failed attempts while the server is gone

  server.start();
  ASSERT_TRUE(run_until(io_, [&] { return client.connected(); }, 5s));
  auto after = await(io_, client.get("k"));
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_FALSE(after.value().has_value());  // a fresh server
  ASSERT_TRUE(await(io_, client.set("k", "after", 10s)).ok());
  EXPECT_EQ(client.stats().disconnects, 1u);
  EXPECT_EQ(client.stats().reconnects, 1u);
  EXPECT_EQ(client.stats().connects, 2u);
  EXPECT_GE(client.stats().connect_failures, 1u);
}

TEST_F(RedisClientTest, CommandTimesOutWhileTheServerIsPausedAndLateReplyIsDropped) {
  RedisServer server(unused_port());
  auto settings = settings_for(server.port());
  settings.command_timeout = 50ms;
  RedisClient client(io_.get_executor(), settings);
  wait_connected(client);
  ASSERT_TRUE(await(io_, client.set("k", "v", 10s)).ok());

  server.pause();
  const auto start = Clock::now();
  // The paused server cannot reply before resume() below, so an answer here came from the
  // command's own timeout (await()'s 5 s only stops a hung test).
  auto got = await(io_, client.get("k"));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, RedisErrorKind::timeout);
  EXPECT_GE(Clock::now() - start, 45ms);  // not before the timeout: timers never fire early
  EXPECT_EQ(client.in_flight(), 1u);      // still owed a reply
  EXPECT_TRUE(client.connected());

  server.resume();
  ASSERT_TRUE(run_until(io_, [&] { return client.in_flight() == 0; }, 5s));
  EXPECT_EQ(client.stats().late_replies, 1u);
  auto later = await(io_, client.get("k"));
  ASSERT_TRUE(later.ok()) << later.error().message;
  EXPECT_EQ(later.value().value_or("<none>"), "v");
  EXPECT_EQ(client.stats().errors_of(RedisErrorKind::timeout), 1u);
}

TEST_F(RedisClientTest, CommandsBeyondMaxPendingFailFastWithOverloaded) {
  RedisServer server(unused_port());
  auto settings = settings_for(server.port());
  settings.max_pending = 4;
  settings.command_timeout = 5s;
  RedisClient client(io_.get_executor(), settings);
  wait_connected(client);

  server.pause();
  std::vector<std::shared_ptr<std::optional<GetResult>>> held;
  for (int i = 0; i < 4; ++i) held.push_back(spawn(io_, client.get("k" + std::to_string(i))));
  ASSERT_TRUE(run_until(io_, [&] { return client.in_flight() == 4; }, 2s));

  const std::uint64_t sent = client.stats().commands_sent;
  auto one_too_many = result_without_waiting(io_, client.get("one-too-many"));
  ASSERT_TRUE(one_too_many.has_value()) << "the command waited instead of failing at once";
  const GetResult& refused = *one_too_many;
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, RedisErrorKind::overloaded);
  EXPECT_EQ(client.stats().errors_of(RedisErrorKind::overloaded), 1u);
  EXPECT_EQ(client.stats().commands_sent, sent);  // never reached the connection
  EXPECT_EQ(client.in_flight(), 4u);

  server.resume();
  ASSERT_TRUE(run_until(
      io_,
      [&] {
        for (const auto& result : held) {
          if (!result->has_value()) return false;
        }
        return true;
      },
      5s));
  for (const auto& result : held) EXPECT_TRUE((*result)->ok()) << (*result)->error().message;
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST_F(RedisClientTest, DestroyingTheClientWithCommandsOutstandingResumesThemWithAnError) {
  RedisServer server(unused_port());
  auto settings = settings_for(server.port());
  settings.command_timeout = 10s;
  auto client = std::make_unique<RedisClient>(io_.get_executor(), settings);
  wait_connected(*client);

  server.pause();
  std::vector<std::shared_ptr<std::optional<GetResult>>> held;
  for (int i = 0; i < 3; ++i) held.push_back(spawn(io_, client->get("k")));
  held.push_back(spawn(io_, client->get(std::string(1u << 16, 'x'))));
  ASSERT_TRUE(run_until(io_, [&] { return client->in_flight() == 4; }, 2s));

  client.reset();
  // Resumed by the destruction (posted), not by the 10 s command_timeout nor by a reply from
  // the paused server: every one of them completes without the io_context waiting.
  ASSERT_TRUE(done_without_waiting(io_, [&] {
    for (const auto& result : held) {
      if (!result->has_value()) return false;
    }
    return true;
  }));
  for (const auto& result : held) {
    ASSERT_FALSE((*result)->ok());
    EXPECT_EQ((*result)->error().kind, RedisErrorKind::not_connected);
  }
  server.resume();
  run_for(io_, 50ms);  // nothing may fire into the freed client
}

TEST_F(RedisClientTest, CancelledCommandResumesAtOnceAndItsReplyIsDropped) {
  RedisServer server(unused_port());
  auto settings = settings_for(server.port());
  settings.command_timeout = 5s;
  RedisClient client(io_.get_executor(), settings);
  wait_connected(client);
  ASSERT_TRUE(await(io_, client.set("k", "v", 10s)).ok());

  server.pause();
  asio::cancellation_signal signal;
  auto out = std::make_shared<std::optional<GetResult>>();
  // The io_context owns the frame; `out` is shared with the test.
  asio::co_spawn(io_, store_into(client.get("k"), out),
                 asio::bind_cancellation_slot(signal.slot(), [](const std::exception_ptr&) {}));
  ASSERT_TRUE(run_until(io_, [&] { return client.in_flight() == 1; }, 2s));
  signal.emit(asio::cancellation_type::terminal);
  // Resumed by the cancellation, not by the 5 s command_timeout nor by a reply from the
  // paused server.
  ASSERT_TRUE(done_without_waiting(io_, [&] { return out->has_value(); }));
  ASSERT_FALSE((*out)->ok());
  EXPECT_EQ((*out)->error().kind, RedisErrorKind::cancelled);

  server.resume();
  ASSERT_TRUE(run_until(io_, [&] { return client.in_flight() == 0; }, 5s));
  EXPECT_EQ(client.stats().late_replies, 1u);
  auto later = await(io_, client.get("k"));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later.value().value_or("<none>"), "v");
}

TEST_F(RedisClientTest, ShutdownDisconnectsForGood) {
  RedisServer server(unused_port());
  RedisClient client(io_.get_executor(), settings_for(server.port()));
  wait_connected(client);
  client.shutdown();
  EXPECT_FALSE(client.connected());
  auto got = await(io_, client.get("k"));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, RedisErrorKind::not_connected);
  run_for(io_, 200ms);
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.stats().connects, 1u);
  EXPECT_EQ(client.stats().disconnects, 0u);
  client.shutdown();  // idempotent
}

TEST_F(RedisClientTest, HostMustBeAnIpAddress) {
  RedisSettings settings;
  settings.host = "redis.example";
  EXPECT_THROW(RedisClient(io_.get_executor(), settings), std::invalid_argument);
}

}  // namespace
}  // namespace levee::testing
