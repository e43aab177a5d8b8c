#pragma once
// levee-upstream's HTTP/1.1 server: the stand-in for a slow legacy service that levee's tests
// and benchmarks run against (endpoints in docs and in server.cpp's route()).
//
// Threads: one io_context per worker, each with its own SO_REUSEPORT acceptor on the same
// port, so the kernel spreads connections over workers and a connection lives on one thread.
// The constructor binds (throws std::system_error or std::invalid_argument on failure, e.g. a
// non-loopback address); run_worker(i) runs worker i's loop on the calling thread until
// stop(). Counters (Stats) are shared by all workers and exact.
// Ownership: the Server owns every io_context, hence every connection's coroutine frame; it
// must outlive the threads running run_worker(). stop() abandons connections mid-request.

#include <cstdint>
#include <memory>
#include <string>

#include "mock_upstream/options.hpp"

namespace levee::mock_upstream {

class Stats;

class Server {
 public:
  explicit Server(Options options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port (the real one when the options asked for port 0).
  [[nodiscard]] std::uint16_t port() const noexcept;
  // "127.0.0.1:PORT" or "[::1]:PORT", as the ready line prints it.
  [[nodiscard]] std::string listen_address() const;
  [[nodiscard]] unsigned worker_count() const noexcept;
  [[nodiscard]] Stats& stats() noexcept;

  // Blocks until stop(); call once per worker index, each on its own thread.
  void run_worker(unsigned index);
  // Any thread, any time, idempotent.
  void stop() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace levee::mock_upstream
