// Feeds arbitrary bytes, after the client preface, to levee's real HTTP/2 session
// (server/h2_session.cpp) over a loopback connection, with a dispatcher that answers every
// request at once. Whatever the frames say (bad HPACK, floods, resets, windows, CONTINUATION
// without end), nothing may crash, hang or leak: the session must end once the input has
// ended, within a bound.

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/config.hpp"
#include "core/dispatcher.hpp"
#include "core/service.hpp"
#include "server/connection_gate.hpp"
#include "server/h2_session.hpp"
#include "server/session_set.hpp"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr std::string_view k_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

class Answer final : public levee::core::Handler {
 public:
  asio::awaitable<levee::core::Response> handle(levee::core::Request request) override {
    auto response = levee::core::Response::text(200, request.target);
    response.trailers.add("grpc-status", "0");
    co_return response;
  }
};

class AnswerEverything final : public levee::core::Dispatcher {
 public:
  levee::core::Dispatch dispatch(const levee::core::Request&) override {
    return {"fuzz", &handler_, nullptr};
  }

 private:
  Answer handler_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static levee::config::ServerConfig limits = [] {
    levee::config::ServerConfig config;
    config.max_header_bytes = 4096;
    config.max_body_bytes = 16 * 1024;
    config.header_timeout = std::chrono::milliseconds(200);
    config.idle_timeout = std::chrono::milliseconds(200);
    config.http2.stream_idle_timeout = std::chrono::milliseconds(200);
    return config;
  }();
  asio::io_context io;
  AnswerEverything dispatcher;
  levee::server::ConnectionGate gate(100);
  levee::server::SessionSet sessions;
  levee::server::SessionContext context{limits,  dispatcher, gate,  sessions,
                                        nullptr, nullptr,    false, true};
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  levee::server::start_http2_session(std::move(server), context);
  sessions.start_sweeping(io.get_executor());

  std::string input(k_preface);
  input.append(reinterpret_cast<const char*>(data), size);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        boost::system::error_code ec;
        co_await asio::async_write(client, asio::buffer(input),
                                   asio::redirect_error(asio::use_awaitable, ec));
        client.shutdown(tcp::socket::shutdown_send, ec);
        // Read what levee answers until it closes the connection.
        std::array<char, 16 * 1024> sink{};
        for (;;) {
          co_await client.async_read_some(asio::buffer(sink),
                                          asio::redirect_error(asio::use_awaitable, ec));
          if (ec) break;
        }
      },
      asio::detached);
  // The session ends on the client's end of input (or its own timeouts); a session still
  // alive after this bound is a hang.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (sessions.size() > 0 && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(10));
  }
  if (sessions.size() > 0) std::abort();
  return 0;
}
