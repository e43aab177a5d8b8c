#include "redis/sentinel_discovery.hpp"

#include <hiredis/hiredis.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <chrono>
#include <optional>
#include <utility>

namespace levee::redis {

namespace {

namespace asio = boost::asio;
using AddressResult = core::Result<RedisAddress, std::string>;

// An answer is two short strings; anything longer is not a sentinel talking.
constexpr std::size_t k_max_reply_bytes = 4096;

std::string get_master_command(std::string_view master_name) {
  const auto bulk = [](std::string_view text) {
    return "$" + std::to_string(text.size()) + "\r\n" + std::string(text) + "\r\n";
  };
  return "*3\r\n" + bulk("SENTINEL") + bulk("get-master-addr-by-name") + bulk(master_name);
}

std::string text_of(const redisReply& reply) {
  return reply.str != nullptr ? std::string(reply.str, reply.len) : std::string();
}

AddressResult address_from(const redisReply& reply, std::string_view master_name) {
  if (reply.type == REDIS_REPLY_NIL) {
    return core::unexpected("it monitors no primary named \"" + std::string(master_name) + "\"");
  }
  if (reply.type == REDIS_REPLY_ERROR) return core::unexpected("it answered " + text_of(reply));
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2 ||
      reply.element[0]->type != REDIS_REPLY_STRING ||
      reply.element[1]->type != REDIS_REPLY_STRING) {
    return core::unexpected(std::string("unexpected reply shape"));
  }
  RedisAddress address;
  address.host = text_of(*reply.element[0]);
  const std::string port = text_of(*reply.element[1]);
  boost::system::error_code ec;
  (void)asio::ip::make_address(address.host, ec);
  unsigned value = 0;
  const auto [end, parse_error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec || parse_error != std::errc() || end != port.data() + port.size() || value == 0 ||
      value > 65535) {
    return core::unexpected("it named an unusable address \"" + address.host + ":" + port + "\"");
  }
  address.port = static_cast<std::uint16_t>(value);
  return address;
}

// nullopt while `resp` holds less than one whole reply.
std::optional<AddressResult> try_parse(std::string_view resp, std::string_view master_name) {
  const std::unique_ptr<redisReader, decltype(&redisReaderFree)> reader(redisReaderCreate(),
                                                                        &redisReaderFree);
  if (!reader) return AddressResult(core::unexpected(std::string("out of memory")));
  void* raw = nullptr;
  if (redisReaderFeed(reader.get(), resp.data(), resp.size()) != REDIS_OK ||
      redisReaderGetReply(reader.get(), &raw) != REDIS_OK) {
    return AddressResult(core::unexpected(std::string("unparseable reply")));
  }
  if (raw == nullptr) return std::nullopt;
  const std::unique_ptr<redisReply, decltype(&freeReplyObject)> reply(static_cast<redisReply*>(raw),
                                                                      &freeReplyObject);
  return address_from(*reply, master_name);
}

}  // namespace

core::Result<RedisAddress, std::string> parse_master_address(std::string_view resp,
                                                             std::string_view master_name) {
  auto parsed = try_parse(resp, master_name);
  if (!parsed) return core::unexpected(std::string("incomplete reply"));
  return std::move(*parsed);
}

SentinelDiscovery::SentinelDiscovery(asio::any_io_executor executor,
                                     std::vector<RedisAddress> sentinels, std::string master_name,
                                     Duration per_sentinel_timeout)
    : executor_(std::move(executor)),
      sentinels_(std::move(sentinels)),
      master_name_(std::move(master_name)),
      timeout_(per_sentinel_timeout),
      socket_(executor_),
      deadline_(executor_) {}

asio::awaitable<DiscoveryResult> SentinelDiscovery::find_primary(
    std::shared_ptr<SentinelDiscovery> self) {
  std::string problems;
  for (const RedisAddress& sentinel : self->sentinels_) {
    if (self->cancelled_) break;
    auto answer = co_await self->ask(sentinel);
    if (answer) co_return DiscoveredPrimary{std::move(answer).value(), sentinel};
    if (!problems.empty()) problems += "; ";
    problems += "sentinel " + sentinel.to_string() + ": " + answer.error();
  }
  if (self->cancelled_) co_return core::unexpected(std::string("cancelled"));
  co_return core::unexpected("no sentinel named it (" + problems + ")");
}

asio::awaitable<AddressResult> SentinelDiscovery::ask(RedisAddress sentinel) {
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(sentinel.host, ec);
  if (ec) co_return core::unexpected(std::string("not an IP address"));

  // One deadline for connect, question and answer: when it fires it closes the socket, which
  // ends whichever of them is waiting. The generation keeps a late expiry of an earlier
  // question from closing this one's socket.
  socket_ = asio::ip::tcp::socket(executor_);
  timed_out_ = false;
  const auto query = ++query_;
  deadline_.expires_after(timeout_);
  deadline_.async_wait([self = shared_from_this(), query](boost::system::error_code wait_ec) {
    if (wait_ec || query != self->query_) return;
    self->timed_out_ = true;
    boost::system::error_code ignored;
    self->socket_.close(ignored);
  });
  auto answer = co_await exchange(asio::ip::tcp::endpoint(ip, sentinel.port));
  deadline_.cancel();
  boost::system::error_code ignored;
  socket_.close(ignored);
  co_return answer;
}

asio::awaitable<AddressResult> SentinelDiscovery::exchange(asio::ip::tcp::endpoint endpoint) {
  using asio::as_tuple;
  using asio::use_awaitable;
  const auto [connect_ec] = co_await socket_.async_connect(endpoint, as_tuple(use_awaitable));
  if (connect_ec) co_return core::unexpected("cannot connect: " + describe(connect_ec));
  const std::string command = get_master_command(master_name_);
  const auto [write_ec, written] =
      co_await asio::async_write(socket_, asio::buffer(command), as_tuple(use_awaitable));
  if (write_ec) co_return core::unexpected("cannot ask: " + describe(write_ec));
  std::string received;
  std::array<char, 512> chunk{};
  while (received.size() < k_max_reply_bytes) {
    const auto [read_ec, n] =
        co_await socket_.async_read_some(asio::buffer(chunk), as_tuple(use_awaitable));
    received.append(chunk.data(), n);
    if (auto parsed = try_parse(received, master_name_)) co_return std::move(*parsed);
    if (read_ec) co_return core::unexpected("no answer: " + describe(read_ec));
  }
  co_return core::unexpected(std::string("reply too long"));
}

std::string SentinelDiscovery::describe(boost::system::error_code ec) const {
  if (timed_out_) {
    return "nothing within " +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count()) +
           "ms";
  }
  if (cancelled_) return "cancelled";
  return ec.message();
}

void SentinelDiscovery::cancel() noexcept {
  cancelled_ = true;
  deadline_.cancel();
  boost::system::error_code ignored;
  socket_.close(ignored);
}

}  // namespace levee::redis
