#pragma once
// Child processes for integration tests: levee and levee-upstream run as real binaries.
//
// Process spawns a program (fork + exec) with its stdout and stderr on pipes; one reader
// thread per process copies both into memory and wakes waiters through a condition
// variable, so wait_for_line() returns the moment the line arrives (no polling, no sleeps).
// The same thread reaps the child (through a pidfd), so running() and wait_exit() need no
// polling either. The child gets PR_SET_PDEATHSIG(SIGKILL): if the test process dies, so do
// its children. That signal fires when the *thread* that spawned the child exits, so spawn
// from the test's own thread, not from a short-lived helper thread.
// The destructor SIGKILLs a child that is still running and reaps it.
// Set LEVEE_TEST_ECHO=1 to also copy every child's output to the test's stderr as it comes.
//
// UpstreamProcess starts levee-upstream on 127.0.0.1:0 and reads its port from the ready
// line; its stats helpers read /__stats over HTTP.
//
// Errors (exec failure, no ready line, bad /__stats) are thrown as std::runtime_error with
// the child's stderr in the message: gtest reports an escaped exception as a test failure.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace levee::testing {

using EnvList = std::vector<std::pair<std::string, std::string>>;

// Path of a built binary ("levee", "levee-upstream") and of a file in the source tree.
[[nodiscard]] std::string binary_path(std::string_view name);
[[nodiscard]] std::string source_path(std::string_view relative);

class Process {
 public:
  // `program` is a path (see binary_path); `env` adds to or overrides the test's environment.
  // Throws std::runtime_error when the program cannot be started.
  Process(std::string program, std::vector<std::string> args, EnvList env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // The first stdout line (without its line break) that starts with `prefix`, waiting for
  // it up to `timeout`. Throws std::runtime_error, with stdout and stderr in the message, on
  // timeout or when the process exits without printing it.
  [[nodiscard]] std::string wait_for_line(std::string_view prefix,
                                          std::chrono::milliseconds timeout);
  // Same for stderr (log lines).
  [[nodiscard]] std::string wait_for_stderr_line(std::string_view prefix,
                                                 std::chrono::milliseconds timeout);

  // False when the process has already been reaped (nothing is sent to a reused pid).
  bool send_signal(int signal);

  // The exit code, or -N when killed by signal N. On timeout the process is SIGKILLed, the
  // test gets a non-fatal gtest failure naming the timeout and the stderr, and the result
  // is -SIGKILL.
  int wait_exit(std::chrono::milliseconds timeout);

  [[nodiscard]] bool running() const;
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] std::string stdout_text() const;
  [[nodiscard]] std::string stderr_text() const;

 private:
  struct Stream {
    int fd = -1;
    std::string text;
    bool eof = false;
  };

  [[nodiscard]] std::string wait_for(Stream Process::* stream, std::string_view prefix,
                                     std::chrono::milliseconds timeout, std::string_view what);
  [[nodiscard]] std::string describe_locked() const;
  void read_loop();
  bool read_available(Stream& stream);
  void reap(int status);

  std::string program_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool echo_ = false;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  Stream out_;
  Stream err_;
  bool exited_ = false;
  int exit_code_ = 0;

  std::thread reader_;  // last: starts after every other member exists
};

// /__stats of levee-upstream, parsed.
struct UpstreamStats {
  std::uint64_t total = 0;
  std::map<std::string, std::uint64_t, std::less<>> endpoints;  // "/api", "/process", ...
  std::map<std::string, std::uint64_t, std::less<>> paths;      // "/api/x", ...

  // An endpoint counter ("/api", "/process_batch_items", ...) if one has that name, else the
  // count of that exact path; 0 when neither was called.
  [[nodiscard]] std::uint64_t calls(std::string_view endpoint_or_path) const;
};

struct UpstreamProcess {
  // Starts `levee-upstream --listen 127.0.0.1:0 <extra_args...>` and waits for its ready line.
  explicit UpstreamProcess(std::vector<std::string> extra_args = {},
                           std::chrono::milliseconds ready_timeout = std::chrono::seconds(10));

  // "127.0.0.1:PORT", for a levee config's upstream address.
  [[nodiscard]] std::string address() const;
  [[nodiscard]] UpstreamStats stats() const;  // throws std::runtime_error on failure
  [[nodiscard]] std::uint64_t calls(std::string_view endpoint_or_path) const;
  void reset() const;  // POST /__reset; throws unless it answers 204

  Process process;
  std::uint16_t port = 0;
};

}  // namespace levee::testing
