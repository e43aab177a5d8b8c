#pragma once
// A redis-server child process on a fixed 127.0.0.1 port (so that it can be restarted on the
// same one), with no persistence, in a scratch directory; for the shared cache tier's tests.
// Optionally a replica of another one; and a redis-sentinel watching a primary, for the
// failover tests.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "levee_fixture.hpp"
#include "support/process.hpp"

namespace levee::testing {

class RedisServer {
 public:
  // Starts it and waits until it accepts connections; throws when it does not.
  explicit RedisServer(std::uint16_t port, std::optional<std::uint16_t> replica_of = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  void start();
  void kill();    // SIGKILL, and wait for the exit
  void pause();   // SIGSTOP: connections stay open, nothing is answered
  void resume();  // SIGCONT
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  std::uint16_t port_;
  std::optional<std::uint16_t> replica_of_;
  TempDir dir_;
  std::optional<Process> process_;
  bool paused_ = false;
};

// A redis-sentinel monitoring the primary on 127.0.0.1:primary_port as `master_name`, quorum
// 1, that calls it down after 500ms and may fail over again after 2s. Its port is fixed for
// the same reason as RedisServer's.
class RedisSentinel {
 public:
  // Starts it and waits until it accepts connections; throws when it does not.
  RedisSentinel(std::uint16_t port, std::uint16_t primary_port, std::string master_name);
  RedisSentinel(const RedisSentinel&) = delete;
  RedisSentinel& operator=(const RedisSentinel&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  // The port of the primary it names now, or 0 when it names none.
  [[nodiscard]] std::uint16_t primary_port() const;
  // Whether it has seen the replica on `replica_port` (only a known replica is promoted).
  [[nodiscard]] bool knows_replica(std::uint16_t replica_port) const;

 private:
  std::uint16_t port_;
  std::string master_name_;
  TempDir dir_;
  std::optional<Process> process_;
};

// redis-cli -p PORT ARGS...: its standard output, or "" when it failed.
[[nodiscard]] std::string redis_cli(std::uint16_t port, const std::vector<std::string>& args);

// A replica whose link to its primary is up (it has its data).
[[nodiscard]] bool replica_in_sync(std::uint16_t replica_port);

}  // namespace levee::testing
