// UpstreamService against a scripted upstream on a loopback socket (127.0.0.1, port 0): an
// answer passes, a failure becomes 502 or 504 naming the upstream and the cause, outcomes are
// counted, and a request's trailers go upstream only with forward_trailers.

#include "layers/upstream/upstream_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "admin/metrics.hpp"
#include "common/fake_service.hpp"
#include "common/manual_clock.hpp"
#include "core/body_stream.hpp"
#include "upstream/connection_pool.hpp"

namespace levee::layers {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using upstream::UpstreamErrorKind;

// What the scripted upstream does with each request it reads.
enum class Action { answer, close, garbage, hang };

class ScriptedUpstream {
 public:
  ScriptedUpstream(asio::io_context& io, Action action)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), action_(action) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  [[nodiscard]] tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  std::vector<std::string> heads;  // each request's head as it came

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), asio::detached);
    }
  }
  asio::awaitable<void> serve(tcp::socket socket) {
    std::string buffer;
    auto [ec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer), "\r\n\r\n",
                                                   asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    heads.push_back(buffer.substr(0, n));
    std::string reply;
    switch (action_) {
      case Action::answer:
        reply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
        break;
      case Action::garbage:
        reply = "NOT HTTP AT ALL\r\n\r\n";
        break;
      case Action::close:
        socket.close();
        co_return;
      case Action::hang: {
        asio::steady_timer forever(socket.get_executor(), asio::steady_timer::time_point::max());
        (void)co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
        co_return;
      }
    }
    (void)co_await asio::async_write(socket, asio::buffer(reply),
                                     asio::as_tuple(asio::use_awaitable));
  }

  tcp::acceptor acceptor_;
  Action action_;
};

// A streamed answer's body read whole, so that the test can compare it.
asio::awaitable<core::Response> read_whole(core::Response response) {
  if (!response.stream) co_return response;
  auto body = co_await core::read_all(*response.stream, std::size_t{1} << 20);
  response.stream.reset();
  response.body = std::make_shared<const std::string>(
      body ? std::move(body).value() : "(body error: " + std::string(describe(body.error())) + ")");
  co_return response;
}

struct Fixture {
  Fixture() {
    metrics.upstream_responses = &responses;
    for (std::size_t i = 0; i < errors.size(); ++i) metrics.upstream_errors[i] = &errors[i];
    metrics.upstream_duration = &duration;
    config.name = "legacy";
  }

  // Sends `request` through an UpstreamService for `endpoint` and runs until it answers.
  core::Response send(const tcp::endpoint& endpoint, core::Request request,
                      bool forward_trailers = false) {
    upstream::ConnectionPool pool(io.get_executor(), config, {endpoint});
    upstream::UpstreamClient client(pool);
    UpstreamService service(client, metrics, forward_trailers, clock.function());
    auto answered = test::spawn_call(io, service, std::move(request));
    test::run_until_done(io, *answered);
    EXPECT_TRUE(answered->response.has_value());
    if (!answered->response) return core::Response::text(0, "no answer");
    // Read while the pool and the client that own the upstream connection are still here.
    std::optional<core::Response> whole;
    asio::co_spawn(
        io, read_whole(std::move(*answered->response)),
        [&whole](std::exception_ptr, core::Response response) { whole = std::move(response); });
    io.restart();
    while (!whole && io.run_one() > 0) {
    }
    EXPECT_TRUE(whole.has_value());
    return whole.value_or(core::Response::text(0, "no body"));
  }
  [[nodiscard]] std::uint64_t errors_of(UpstreamErrorKind kind) const {
    return errors[static_cast<std::size_t>(kind)].value();
  }

  asio::io_context io;
  test::ManualClock clock;
  config::UpstreamConfig config;
  admin::Counter responses;
  std::array<admin::Counter, k_upstream_error_kinds> errors;
  admin::Histogram duration{admin::default_latency_buckets()};
  RouteMetrics metrics;
};

TEST(UpstreamService, PassesTheUpstreamAnswerAndCountsIt) {
  Fixture f;
  ScriptedUpstream upstream(f.io, Action::answer);
  core::Response response = f.send(upstream.endpoint(), test::make_request("GET", "/a"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body_view(), "hello");
  EXPECT_FALSE(response.upstream_failed);
  EXPECT_EQ(f.responses.value(), 1u);
  EXPECT_EQ(f.duration.snapshot().count, 1u);
  EXPECT_DOUBLE_EQ(f.duration.snapshot().sum, 0.0) << "timed on the injected clock";
}

TEST(UpstreamService, ARefusedConnectionIs502NamingTheUpstream) {
  Fixture f;
  tcp::endpoint closed;
  {
    tcp::acceptor probe(f.io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed = probe.local_endpoint();
  }
  core::Response response = f.send(closed, test::make_request("GET", "/a"));
  EXPECT_EQ(response.status, 502);
  EXPECT_TRUE(response.upstream_failed);
  EXPECT_EQ(response.body_view(), "upstream \"legacy\" refused the connection\n");
  EXPECT_EQ(f.errors_of(UpstreamErrorKind::connect_refused), 1u);
  EXPECT_EQ(f.responses.value(), 0u);
}

TEST(UpstreamService, AConnectionClosedBeforeTheAnswerIs502Reset) {
  Fixture f;
  ScriptedUpstream upstream(f.io, Action::close);
  core::Response response = f.send(upstream.endpoint(), test::make_request("POST", "/a"));
  EXPECT_EQ(response.status, 502);
  EXPECT_TRUE(response.upstream_failed);
  EXPECT_TRUE(response.body_view().starts_with(
      "upstream \"legacy\" closed the connection before a full response"))
      << response.body_view();
  EXPECT_EQ(f.errors_of(UpstreamErrorKind::reset), 1u);
}

TEST(UpstreamService, AnInvalidAnswerIs502Invalid) {
  Fixture f;
  ScriptedUpstream upstream(f.io, Action::garbage);
  core::Response response = f.send(upstream.endpoint(), test::make_request("GET", "/a"));
  EXPECT_EQ(response.status, 502);
  EXPECT_TRUE(response.upstream_failed);
  EXPECT_TRUE(response.body_view().starts_with("upstream \"legacy\" sent an invalid response"))
      << response.body_view();
  EXPECT_EQ(f.errors_of(UpstreamErrorKind::invalid_response), 1u);
}

TEST(UpstreamService, AnUpstreamThatDoesNotAnswerInTimeIs504) {
  Fixture f;
  f.config.request_timeout = 20ms;
  ScriptedUpstream upstream(f.io, Action::hang);
  core::Response response = f.send(upstream.endpoint(), test::make_request("GET", "/a"));
  EXPECT_EQ(response.status, 504);
  EXPECT_TRUE(response.upstream_failed);
  EXPECT_TRUE(response.body_view().starts_with("upstream \"legacy\" did not answer in time"))
      << response.body_view();
  EXPECT_EQ(f.errors_of(UpstreamErrorKind::timeout), 1u);
  EXPECT_EQ(f.duration.snapshot().count, 1u) << "a failed call is observed too";
}

core::Request with_trailers() {
  core::Request request = test::make_request("POST", "/upload");
  request.body = "data";
  request.trailers.add("X-Checksum", "abc");
  return request;
}

TEST(UpstreamService, TrailersAreDroppedUnlessForwarded) {
  Fixture f;
  ScriptedUpstream upstream(f.io, Action::answer);
  EXPECT_EQ(f.send(upstream.endpoint(), with_trailers()).status, 200);
  ASSERT_EQ(upstream.heads.size(), 1u);
  EXPECT_EQ(upstream.heads[0].find("chunked"), std::string::npos)
      << "without trailers the body goes with a Content-Length: " << upstream.heads[0];
  EXPECT_NE(upstream.heads[0].find("Content-Length: 4"), std::string::npos) << upstream.heads[0];
}

TEST(UpstreamService, TrailersGoUpstreamWithForwardTrailers) {
  Fixture f;
  ScriptedUpstream upstream(f.io, Action::answer);
  EXPECT_EQ(f.send(upstream.endpoint(), with_trailers(), true).status, 200);
  ASSERT_EQ(upstream.heads.size(), 1u);
  EXPECT_NE(upstream.heads[0].find("chunked"), std::string::npos)
      << "a request with trailers goes chunked: " << upstream.heads[0];
}

}  // namespace
}  // namespace levee::layers
