#include "bench/upstream_stats.hpp"

#include <simdjson.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <stdexcept>

namespace levee::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// Beast's timeouts apply to asynchronous operations only, hence a coroutine and run().
asio::awaitable<std::string> get_body(Target url, std::chrono::milliseconds timeout) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(url.address), url.port);
  stream.expires_after(timeout);
  co_await stream.async_connect(endpoint, asio::use_awaitable);
  http::request<http::empty_body> request(http::verb::get, url.path, 11);
  request.set(http::field::host, url.authority);
  request.set(http::field::connection, "close");
  co_await http::async_write(stream, request, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  co_await http::async_read(stream, buffer, response, asio::use_awaitable);
  if (response.result_int() != 200) {
    throw std::runtime_error("status " + std::to_string(response.result_int()));
  }
  co_return std::move(response.body());
}

}  // namespace

std::uint64_t fetch_upstream_total(const Target& stats_url, std::chrono::milliseconds timeout) {
  const std::string where = "upstream stats http://" + stats_url.authority + stats_url.path;
  asio::io_context io;
  std::string body;
  std::exception_ptr failure;
  // The frame is owned by `io`, which is run to completion before this function returns.
  asio::co_spawn(io, get_body(stats_url, timeout),
                 [&body, &failure](std::exception_ptr error, std::string result) {
                   failure = std::move(error);
                   body = std::move(result);
                 });
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& error) {
      throw std::runtime_error(where + ": " + error.what());
    }
  }
  simdjson::dom::parser parser;
  std::uint64_t total = 0;
  if (parser.parse(body)["total"].get(total) != simdjson::SUCCESS) {
    throw std::runtime_error(where +
                             ": no numeric \"total\" in the answer (is it levee-upstream?)");
  }
  return total;
}

}  // namespace levee::bench
