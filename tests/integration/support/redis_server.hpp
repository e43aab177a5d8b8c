#pragma once
// A redis-server child process on a fixed 127.0.0.1 port (so that it can be restarted on the
// same one), with no persistence, in a scratch directory; for the shared cache tier's tests.

#include <cstdint>
#include <optional>

#include "levee_fixture.hpp"
#include "support/process.hpp"

namespace levee::testing {

class RedisServer {
 public:
  // Starts it and waits until it accepts connections; throws when it does not.
  explicit RedisServer(std::uint16_t port);
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
  TempDir dir_;
  std::optional<Process> process_;
  bool paused_ = false;
};

}  // namespace levee::testing
