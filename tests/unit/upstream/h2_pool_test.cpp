// H2Pool against a scripted in-process HTTP/2 server on a loopback socket (nghttp2's server
// session frames it; the script decides what it does with each request): the retry of a
// stream the server refused with a GOAWAY, which happens once and only for a request that is
// idempotent or was never sent; and when a call's HEADERS leave.

#include "upstream/h2_pool.hpp"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace levee::upstream {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// What the server does with a complete request on the k-th connection (from 0).
enum class Action { answer, refuse_with_goaway };
using Script = std::function<Action(int connection)>;

class ScriptedH2Server {
 public:
  ScriptedH2Server(asio::io_context& io, Script script)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        script_(std::move(script)) {
    asio::co_spawn(io, accept_loop(this), asio::detached);
  }
  [[nodiscard]] tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  // Bytes the latest connection has received and the server has not read yet.
  [[nodiscard]] std::size_t unread() const {
    boost::system::error_code ec;
    return latest_ == nullptr ? 0 : latest_->available(ec);
  }
  int connections = 0;
  int requests = 0;

 private:
  struct Session {
    ScriptedH2Server* server;
    int connection;
    nghttp2_session* session = nullptr;
  };

  static asio::awaitable<void> accept_loop(ScriptedH2Server* self) {
    for (;;) {
      auto [ec, socket] =
          co_await self->acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(self->acceptor_.get_executor(),
                     serve(self, std::move(socket), self->connections++), asio::detached);
    }
  }

  static ssize_t body(nghttp2_session*, std::int32_t, std::uint8_t* buffer, std::size_t length,
                      std::uint32_t* flags, nghttp2_data_source*, void*) {
    constexpr std::string_view k_answer = "ok";
    std::memcpy(buffer, k_answer.data(), std::min(length, k_answer.size()));
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(k_answer.size());
  }

  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto* state = static_cast<Session*>(user);
    const bool request_complete =
        (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (!request_complete) return 0;
    ++state->server->requests;
    if (state->server->script_(state->connection) == Action::refuse_with_goaway) {
      // last_stream_id 0: no stream of this connection was processed.
      nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
      return 0;
    }
    std::array<nghttp2_nv, 1> head{
        {{reinterpret_cast<std::uint8_t*>(const_cast<char*>(":status")),
          reinterpret_cast<std::uint8_t*>(const_cast<char*>("200")), 7, 3, NGHTTP2_NV_FLAG_NONE}}};
    nghttp2_data_provider provider{};
    provider.read_callback = body;
    nghttp2_submit_response(session, frame->hd.stream_id, head.data(), head.size(), &provider);
    return 0;
  }

  static asio::awaitable<bool> flush(tcp::socket& socket, nghttp2_session* session) {
    std::string out;
    for (;;) {
      const std::uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session, &data);
      if (n <= 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (out.empty()) co_return true;
    auto [ec, written] =
        co_await asio::async_write(socket, asio::buffer(out), asio::as_tuple(asio::use_awaitable));
    co_return !ec;
  }

  static asio::awaitable<void> serve(ScriptedH2Server* self, tcp::socket socket, int connection) {
    Session state{self, connection};
    self->latest_ = &socket;
    struct Forget {
      ScriptedH2Server* server;
      tcp::socket* socket;
      ~Forget() {
        if (server->latest_ == socket) server->latest_ = nullptr;
      }
    } forget{self, &socket};
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
    nghttp2_session_server_new(&state.session, callbacks, &state);
    nghttp2_session_callbacks_del(callbacks);
    std::unique_ptr<nghttp2_session, decltype(&nghttp2_session_del)> owner(state.session,
                                                                           nghttp2_session_del);
    nghttp2_submit_settings(state.session, NGHTTP2_FLAG_NONE, nullptr, 0);
    std::array<std::uint8_t, 16 * 1024> buffer{};
    while (co_await flush(socket, state.session)) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer),
                                                     asio::as_tuple(asio::use_awaitable));
      if (ec || nghttp2_session_mem_recv(state.session, buffer.data(), n) < 0) co_return;
    }
  }

  tcp::acceptor acceptor_;
  Script script_;
  tcp::socket* latest_ = nullptr;  // in its serve() frame
};

using SendResult = core::Result<core::Response, UpstreamError>;

// The frame holds only pointers to what the test keeps until the io_context has run.
asio::awaitable<void> send_into(H2Pool* pool, core::Request* request,
                                std::optional<SendResult>* out) {
  out->emplace(co_await pool->send(*request));
}

class H2PoolRetry : public ::testing::Test {
 protected:
  SendResult send(ScriptedH2Server& server, std::string method) {
    settings_.name = "scripted";
    settings_.address = {"127.0.0.1", server.endpoint().port()};
    settings_.protocol = config::UpstreamProtocol::h2c;
    endpoints_ = {server.endpoint()};
    H2Pool pool(io_.get_executor(), settings_, endpoints_, std::make_shared<UpstreamTransport>());
    core::Request request;
    request.method = std::move(method);
    request.target = "/x";
    if (request.method == "POST") request.body = "payload";
    std::optional<SendResult> result;
    asio::co_spawn(io_, send_into(&pool, &request, &result), asio::detached);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!result && std::chrono::steady_clock::now() < deadline) {
      io_.run_one_for(std::chrono::milliseconds(100));
    }
    pool.close_all();
    io_.poll();
    if (!result) return core::unexpected(UpstreamError{UpstreamErrorKind::timeout, "test"});
    return std::move(*result);
  }

  asio::io_context io_;
  config::UpstreamConfig settings_;
  std::vector<tcp::endpoint> endpoints_;
};

TEST_F(H2PoolRetry, AnIdempotentRequestRefusedByGoawayIsSentAgainOnANewConnection) {
  ScriptedH2Server server(io_, [](int connection) {
    return connection == 0 ? Action::refuse_with_goaway : Action::answer;
  });
  auto result = send(server, "GET");
  ASSERT_TRUE(result) << result.error().describe("scripted");
  EXPECT_EQ(result.value().status, 200);
  EXPECT_EQ(result.value().body_view(), "ok");
  EXPECT_EQ(server.connections, 2);
  EXPECT_EQ(server.requests, 2);
}

TEST_F(H2PoolRetry, ANonIdempotentRequestThatWasSentIsNotSentAgain) {
  ScriptedH2Server server(io_, [](int connection) {
    return connection == 0 ? Action::refuse_with_goaway : Action::answer;
  });
  auto result = send(server, "POST");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, UpstreamErrorKind::reset);
  EXPECT_EQ(result.error().status(), 502);
  EXPECT_EQ(server.requests, 1);
}

TEST_F(H2PoolRetry, ARequestIsRetriedOnlyOnce) {
  ScriptedH2Server server(io_, [](int) { return Action::refuse_with_goaway; });
  auto result = send(server, "GET");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, UpstreamErrorKind::reset);
  EXPECT_EQ(server.requests, 2);
}

// A burst queues the intake of every other request on the worker ahead of anything a request
// posts; a call whose HEADERS waited for a posted writer left only after all of it (a
// collapsed gRPC burst of 1,000 calls answered 7-12 ms after the upstream's 51 ms).
TEST(H2PoolWrites, ACallsHeadersLeaveBeforeTheWorkQueuedAheadOfThemRuns) {
  asio::io_context io;
  ScriptedH2Server server(io, [](int) { return Action::answer; });
  config::UpstreamConfig settings;
  settings.name = "scripted";
  settings.address = {"127.0.0.1", server.endpoint().port()};
  settings.protocol = config::UpstreamProtocol::h2c;
  const std::vector<tcp::endpoint> endpoints{server.endpoint()};
  H2Pool pool(io.get_executor(), settings, endpoints, std::make_shared<UpstreamTransport>());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  const auto run_until = [&](const std::function<bool()>& done) {
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io.run_one_for(std::chrono::milliseconds(100));
    }
    return done();
  };

  // The first call brings the connection up; then the server reads all there is.
  core::Request first;
  first.method = "GET";
  first.target = "/first";
  std::optional<SendResult> first_result;
  asio::co_spawn(io, send_into(&pool, &first, &first_result), asio::detached);
  ASSERT_TRUE(run_until([&] { return first_result.has_value(); }));
  ASSERT_TRUE(*first_result) << first_result->error().describe("scripted");
  ASSERT_TRUE(run_until([&] {
    io.poll();
    return server.unread() == 0;
  }));

  core::Request second;
  second.method = "GET";
  second.target = "/second";
  std::optional<SendResult> second_result;
  std::optional<std::size_t> unread_behind_the_call;
  asio::co_spawn(io, send_into(&pool, &second, &second_result), asio::detached);
  // Queued after the call's start, as the rest of a burst is.
  asio::post(io, [&] { unread_behind_the_call = server.unread(); });
  ASSERT_TRUE(run_until([&] { return unread_behind_the_call.has_value(); }));
  EXPECT_GT(*unread_behind_the_call, 0U) << "the call's HEADERS waited for the queued work";

  ASSERT_TRUE(run_until([&] { return second_result.has_value(); }));
  ASSERT_TRUE(*second_result) << second_result->error().describe("scripted");
  EXPECT_EQ(second_result->value().status, 200);
  EXPECT_EQ(server.requests, 2);
  pool.close_all();
  io.poll();
}

}  // namespace
}  // namespace levee::upstream
