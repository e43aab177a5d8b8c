// UpstreamClient against a scripted in-process upstream on a loopback socket: pooling, the
// one transparent retry of an idempotent request on a stale reused connection, and the
// failure kinds.

#include "upstream/upstream_client.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace levee::upstream {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// What the scripted upstream does with the n-th request on the k-th connection.
enum class Action { answer, close_without_answer, hang };
using Script = std::function<Action(int connection, int request)>;

class ScriptedUpstream {
 public:
  ScriptedUpstream(asio::io_context& io, Script script)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        script_(std::move(script)) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  [[nodiscard]] tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  int connections = 0;
  int requests = 0;

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto socket = co_await acceptor_.async_accept(asio::use_awaitable);
      asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket), connections++),
                     asio::detached);
    }
  }
  asio::awaitable<void> serve(tcp::socket socket, int connection) {
    std::string buffer;
    for (int request = 0;; ++request) {
      auto [ec, n] = co_await asio::async_read_until(
          socket, asio::dynamic_buffer(buffer), "\r\n\r\n", asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      buffer.erase(0, n);
      ++requests;
      switch (script_(connection, request)) {
        case Action::answer: {
          std::string body = "c" + std::to_string(connection) + "r" + std::to_string(request);
          std::string response =
              "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\nConnection: keep-alive\r\n"
              "X-Hop: x\r\nConnection: X-Hop\r\n\r\n" +
              body;
          co_await asio::async_write(socket, asio::buffer(response), asio::use_awaitable);
          break;
        }
        case Action::close_without_answer:
          socket.close();
          co_return;
        case Action::hang: {
          asio::steady_timer t(socket.get_executor(), 10s);
          co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
          co_return;
        }
      }
    }
  }
  tcp::acceptor acceptor_;
  Script script_;
};

struct Harness {
  explicit Harness(Script script, config::UpstreamConfig cfg = {})
      : upstream(io, std::move(script)), config(std::move(cfg)) {
    config.name = "legacy";
    config.address = {"127.0.0.1", upstream.endpoint().port()};
    pool.emplace(io.get_executor(), config, std::vector<tcp::endpoint>{upstream.endpoint()});
    client.emplace(*pool);
  }
  core::Result<core::Response, UpstreamError> send(std::string method) {
    std::optional<core::Result<core::Response, UpstreamError>> out;
    core::Request request;
    request.method = std::move(method);
    request.target = "/x";
    request.headers.add("Host", "svc");
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto copy = request;
          out.emplace(co_await client->send(copy));
        },
        asio::detached);
    io.restart();
    while (!out) io.run_one_for(10s);
    return std::move(*out);
  }
  asio::io_context io;
  ScriptedUpstream upstream;
  config::UpstreamConfig config;
  std::optional<ConnectionPool> pool;
  std::optional<UpstreamClient> client;
};

TEST(UpstreamClient, ReusesThePooledConnectionAndStripsHopByHop) {
  Harness h([](int, int) { return Action::answer; });
  auto first = h.send("GET");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.value().body_view(), "c0r0");
  EXPECT_FALSE(first.value().headers.contains("X-Hop"));
  EXPECT_FALSE(first.value().headers.contains("Connection"));
  EXPECT_EQ(*first.value().headers.find("Via"), "1.1 levee");
  auto second = h.send("GET");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.value().body_view(), "c0r1") << "same connection, second request";
  EXPECT_EQ(h.upstream.connections, 1);
  EXPECT_EQ(h.pool->idle_count(), 1u);
}

TEST(UpstreamClient, RetriesIdempotentRequestOnceWhenReusedConnectionDies) {
  // The second request on connection 0 finds it closed by the upstream (the race a pooled
  // connection always has); it is sent again on a fresh connection.
  Harness h([](int connection, int request) {
    return connection == 0 && request == 1 ? Action::close_without_answer : Action::answer;
  });
  ASSERT_TRUE(h.send("GET").ok());
  auto retried = h.send("GET");
  ASSERT_TRUE(retried.ok()) << retried.error().describe("legacy");
  EXPECT_EQ(retried.value().body_view(), "c1r0");
  EXPECT_EQ(h.upstream.connections, 2);
  EXPECT_EQ(h.upstream.requests, 3);
}

TEST(UpstreamClient, DoesNotRetryNonIdempotentRequest) {
  Harness h([](int connection, int request) {
    return connection == 0 && request == 1 ? Action::close_without_answer : Action::answer;
  });
  ASSERT_TRUE(h.send("POST").ok());
  auto failed = h.send("POST");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, UpstreamErrorKind::reset);
  EXPECT_EQ(failed.error().status(), 502);
  EXPECT_EQ(h.upstream.requests, 2) << "a POST is never sent twice";
}

TEST(UpstreamClient, RetriesOnlyOnce) {
  Harness h([](int connection, int request) {
    return request >= 1 || connection >= 1 ? Action::close_without_answer : Action::answer;
  });
  ASSERT_TRUE(h.send("GET").ok());
  auto failed = h.send("GET");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, UpstreamErrorKind::reset);
  EXPECT_EQ(h.upstream.requests, 3);
}

TEST(UpstreamClient, FreshConnectionFailureIsNotRetried) {
  Harness h([](int, int) { return Action::close_without_answer; });
  auto failed = h.send("GET");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, UpstreamErrorKind::reset);
  EXPECT_EQ(h.upstream.requests, 1);
}

TEST(UpstreamClient, RequestTimeoutIs504) {
  config::UpstreamConfig cfg;
  cfg.request_timeout = 100ms;
  Harness h([](int, int) { return Action::hang; }, cfg);
  auto failed = h.send("GET");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, UpstreamErrorKind::timeout);
  EXPECT_EQ(failed.error().status(), 504);
  EXPECT_EQ(h.pool->idle_count(), 0u) << "a timed-out connection is never pooled";
}

// Sends a GET through `client` and runs `io` until it completes (bounded).
std::optional<core::Result<core::Response, UpstreamError>> send_get(asio::io_context& io,
                                                                    UpstreamClient& client) {
  std::optional<core::Result<core::Response, UpstreamError>> out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        core::Request request;
        request.method = "GET";
        request.target = "/";
        out.emplace(co_await client.send(request));
      },
      asio::detached);
  for (int i = 0; i < 1000 && !out; ++i) io.run_one_for(5s);
  return out;
}

TEST(UpstreamClient, RefusedConnectionIs502) {
  asio::io_context io;
  tcp::endpoint closed;
  {
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed = probe.local_endpoint();
  }
  config::UpstreamConfig cfg;
  cfg.name = "legacy";
  ConnectionPool pool(io.get_executor(), cfg, {closed});
  UpstreamClient client(pool);
  auto out = send_get(io, client);
  ASSERT_TRUE(out.has_value());
  ASSERT_FALSE(out->ok());
  EXPECT_EQ(out->error().kind, UpstreamErrorKind::connect_refused);
  EXPECT_EQ(out->error().describe("legacy"), "upstream \"legacy\" refused the connection");
}

TEST(UpstreamClient, ConnectTimeoutIs504) {
  // A listener that never accepts, with its accept queue filled: Linux drops further SYNs,
  // so the next connect hangs until levee's connect_timeout.
  asio::io_context io;
  tcp::acceptor full(io);
  full.open(tcp::v4());
  full.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  full.listen(0);
  // Raw non-blocking connects: Asio's synchronous connect would wait for each to finish.
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    const auto target = full.local_endpoint();
    (void)::connect(fd, target.data(), static_cast<socklen_t>(target.size()));
    fillers.push_back(fd);
  }
  config::UpstreamConfig cfg;
  cfg.name = "legacy";
  cfg.connect_timeout = 200ms;
  ConnectionPool pool(io.get_executor(), cfg, {full.local_endpoint()});
  UpstreamClient client(pool);
  auto out = send_get(io, client);
  ASSERT_TRUE(out.has_value());
  ASSERT_FALSE(out->ok());
  EXPECT_EQ(out->error().kind, UpstreamErrorKind::connect_timeout);
  EXPECT_EQ(out->error().status(), 504);
  EXPECT_EQ(pool.busy_count(), 0u);
  for (int fd : fillers) ::close(fd);
}

}  // namespace
}  // namespace levee::upstream
