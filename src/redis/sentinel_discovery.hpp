#pragma once
// SentinelDiscovery: finds where a Redis primary is by asking Redis Sentinel
// (`SENTINEL get-master-addr-by-name NAME`), for RedisClient's connect path.
//
// The sentinels are asked in turn, first to last, each over a short-lived TCP connection of
// its own (Asio, non-blocking; hiredis's reply reader parses the answer); the first one that
// names a primary wins. Each sentinel gets at most `per_sentinel_timeout` for connect, query
// and answer, so one that is down or stopped costs no more than that.
//
// Threading and lifetime: runs on the executor's thread, like the client that owns it; one
// find_primary() at a time. Hold it in a shared_ptr: find_primary()'s frame and its deadline
// keep it alive while they run. cancel() ends a running find_primary() soon (it completes
// with a "cancelled" error) and every later one at once.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "redis/redis_client.hpp"

namespace levee::redis {

struct DiscoveredPrimary {
  RedisAddress primary;
  RedisAddress sentinel;  // the one that named it
};

// The error names every sentinel asked and why it gave no address.
using DiscoveryResult = core::Result<DiscoveredPrimary, std::string>;

// The primary's address from the RESP bytes of one reply to get-master-addr-by-name: an array
// of an IP literal and a port. The error says why not (a null reply: the sentinel does not
// monitor `master_name`). Exposed for tests.
[[nodiscard]] core::Result<RedisAddress, std::string> parse_master_address(
    std::string_view resp, std::string_view master_name);

class SentinelDiscovery : public std::enable_shared_from_this<SentinelDiscovery> {
 public:
  SentinelDiscovery(boost::asio::any_io_executor executor, std::vector<RedisAddress> sentinels,
                    std::string master_name, Duration per_sentinel_timeout);

  // Static: the frame holds `self`, so the discovery outlives its owner while it runs.
  [[nodiscard]] static boost::asio::awaitable<DiscoveryResult> find_primary(
      std::shared_ptr<SentinelDiscovery> self);
  void cancel() noexcept;

  [[nodiscard]] const std::string& master_name() const noexcept { return master_name_; }

 private:
  [[nodiscard]] boost::asio::awaitable<core::Result<RedisAddress, std::string>> ask(
      RedisAddress sentinel);
  [[nodiscard]] boost::asio::awaitable<core::Result<RedisAddress, std::string>> exchange(
      boost::asio::ip::tcp::endpoint endpoint);
  [[nodiscard]] std::string describe(boost::system::error_code ec) const;

  boost::asio::any_io_executor executor_;
  const std::vector<RedisAddress> sentinels_;
  const std::string master_name_;
  const Duration timeout_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer deadline_;
  std::uint64_t query_ = 0;  // generation of the current question, for the deadline
  bool timed_out_ = false;
  bool cancelled_ = false;
};

}  // namespace levee::redis
