#include "support/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <simdjson.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "support/http_client.hpp"
#include "support/ports.hpp"

extern char** environ;

namespace levee::testing {
namespace {

// More output than any test needs; beyond it further output is dropped, so that a chatty
// child cannot exhaust the test's memory.
constexpr std::size_t max_captured_bytes = 64u << 20;
constexpr std::size_t described_stdout_bytes = 4u << 10;
constexpr std::size_t described_stderr_bytes = 16u << 10;
constexpr auto kill_grace = std::chrono::seconds(10);

std::string tail(const std::string& text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  return "[...]" + text.substr(text.size() - bytes);
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

struct Pipe {
  int read = -1;
  int write = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    read = fds[0];
    write = fds[1];
  }
  ~Pipe() {
    close_fd(read);
    close_fd(write);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
};

std::vector<std::string> merged_environment(const EnvList& additions) {
  std::vector<std::string> entries;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::string_view name = text.substr(0, text.find('='));
    bool overridden = false;
    for (const auto& [key, value] : additions) overridden = overridden || key == name;
    if (!overridden) entries.emplace_back(text);
  }
  for (const auto& [key, value] : additions) entries.push_back(key + "=" + value);
  return entries;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (auto& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

}  // namespace

std::string binary_path(std::string_view name) { return std::string(LEVEE_BIN_DIR "/") += name; }

std::string source_path(std::string_view relative) {
  return std::string(LEVEE_SOURCE_DIR "/") += relative;
}

Process::Process(std::string program, std::vector<std::string> args, EnvList env)
    : program_(std::move(program)) {
  const char* echo = std::getenv("LEVEE_TEST_ECHO");
  echo_ = echo != nullptr && *echo != '\0' && std::string_view(echo) != "0";

  // Everything the child needs is prepared before fork(): between fork and exec in a
  // multi-threaded process only async-signal-safe calls are allowed.
  std::vector<std::string> argv_strings;
  argv_strings.push_back(program_);
  for (auto& arg : args) argv_strings.push_back(std::move(arg));
  std::vector<std::string> env_strings = merged_environment(env);
  std::vector<char*> argv = pointers(argv_strings);
  std::vector<char*> envp = pointers(env_strings);

  Pipe out;
  Pipe err;
  Pipe exec_status;  // carries errno if exec fails; closed by a successful exec (CLOEXEC)
  const int dev_null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (dev_null < 0) throw std::runtime_error("cannot open /dev/null");
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(dev_null);
    throw std::runtime_error("fork failed: " + std::string(std::strerror(errno)));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The parent may have died before prctl took effect.
    if (::getppid() != parent) ::_exit(127);
    ::dup2(dev_null, STDIN_FILENO);
    ::dup2(out.write, STDOUT_FILENO);
    ::dup2(err.write, STDERR_FILENO);
    // Signal mask and ignored signals survive exec; the child starts from the defaults.
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction default_action{};
    default_action.sa_handler = SIG_DFL;
    for (const int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) {
      ::sigaction(sig, &default_action, nullptr);
    }
    ::execve(argv[0], argv.data(), envp.data());
    const int error = errno;
    [[maybe_unused]] const auto written = ::write(exec_status.write, &error, sizeof error);
    ::_exit(127);
  }

  ::close(dev_null);
  close_fd(out.write);
  close_fd(err.write);
  close_fd(exec_status.write);
  int exec_error = 0;
  ssize_t n = 0;
  do {
    n = ::read(exec_status.read, &exec_error, sizeof exec_error);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof exec_error)) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    throw std::runtime_error("cannot start " + program_ + ": " + std::strerror(exec_error));
  }

  pid_ = pid;
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));  // -1: fall back to pipe EOF
  if (pidfd_ >= 0) ::fcntl(pidfd_, F_SETFD, FD_CLOEXEC);
  out_.fd = std::exchange(out.read, -1);
  err_.fd = std::exchange(err.read, -1);
  ::fcntl(out_.fd, F_SETFL, O_NONBLOCK);
  ::fcntl(err_.fd, F_SETFL, O_NONBLOCK);
  try {
    reader_ = std::thread([this] { read_loop(); });
  } catch (...) {
    // No destructor runs for a constructor that throws: do its work here.
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    close_fd(pidfd_);
    close_fd(out_.fd);
    close_fd(err_.fd);
    throw;
  }
}

Process::~Process() {
  {
    std::lock_guard lock(mutex_);
    if (!exited_) ::kill(pid_, SIGKILL);
  }
  if (reader_.joinable()) reader_.join();
  close_fd(pidfd_);
  close_fd(out_.fd);
  close_fd(err_.fd);
}

// Reads what the pipe holds right now. Returns false once the pipe reached EOF.
bool Process::read_available(Stream& stream) {
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(stream.fd, buffer, sizeof buffer);
    if (n > 0) {
      if (echo_) {
        [[maybe_unused]] const auto written = ::write(STDERR_FILENO, buffer, n);
      }
      std::lock_guard lock(mutex_);
      const std::size_t room =
          max_captured_bytes - std::min(max_captured_bytes, stream.text.size());
      stream.text.append(buffer, std::min(room, static_cast<std::size_t>(n)));
      changed_.notify_all();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    // EOF, or an error that leaves nothing more to read.
    close_fd(stream.fd);
    std::lock_guard lock(mutex_);
    stream.eof = true;
    changed_.notify_all();
    return false;
  }
}

void Process::reap(int status) {
  std::lock_guard lock(mutex_);
  exited_ = true;
  exit_code_ = decode_status(status);
  changed_.notify_all();
}

void Process::read_loop() {
  for (;;) {
    pollfd fds[3];
    nfds_t count = 0;
    Stream* streams[3] = {nullptr, nullptr, nullptr};
    for (Stream* stream : {&out_, &err_}) {
      if (stream->fd >= 0) {
        streams[count] = stream;
        fds[count++] = pollfd{stream->fd, POLLIN, 0};
      }
    }
    const nfds_t pidfd_index = count;
    if (pidfd_ >= 0) fds[count++] = pollfd{pidfd_, POLLIN, 0};

    if (pidfd_ < 0 && out_.fd < 0 && err_.fd < 0) {
      // No pidfd: the pipes' EOF is the only event; the child has closed them by exiting.
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      reap(status);
      return;
    }

    if (::poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (nfds_t i = 0; i < pidfd_index; ++i) {
      if (fds[i].revents != 0) read_available(*streams[i]);
    }
    if (pidfd_ >= 0 && fds[pidfd_index].revents != 0) {
      // The child is gone, so everything it wrote is already in the pipes: drain them before
      // reporting the exit, so that a waiter never misses a last line.
      for (Stream* stream : {&out_, &err_}) {
        if (stream->fd >= 0) read_available(*stream);
        if (stream->fd >= 0) {
          close_fd(stream->fd);  // a grandchild still holds the pipe; stop reading it
          std::lock_guard lock(mutex_);
          stream->eof = true;
        }
      }
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      reap(status);
      return;
    }
  }
}

std::string Process::describe_locked() const {
  std::string text = program_ + " (pid " + std::to_string(pid_) + ", ";
  text += exited_ ? "exited with " + std::to_string(exit_code_) : std::string("running");
  text += ")\n--- stdout ---\n" + tail(out_.text, described_stdout_bytes);
  text += "\n--- stderr ---\n" + tail(err_.text, described_stderr_bytes);
  text += "\n--- end ---";
  return text;
}

std::string Process::wait_for(Stream Process::* member, std::string_view prefix,
                              std::chrono::milliseconds timeout, std::string_view what) {
  std::unique_lock lock(mutex_);
  const Stream& stream = this->*member;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t scanned = 0;
  bool timed_out = false;
  for (;;) {
    for (auto end = stream.text.find('\n', scanned); end != std::string::npos;
         end = stream.text.find('\n', scanned)) {
      std::string_view line(stream.text.data() + scanned, end - scanned);
      scanned = end + 1;
      if (line.ends_with('\r')) line.remove_suffix(1);
      if (line.starts_with(prefix)) return std::string(line);
    }
    const bool finished = stream.eof || exited_;
    if (finished) {
      const std::string_view last(stream.text.data() + scanned, stream.text.size() - scanned);
      if (!last.empty() && last.starts_with(prefix)) return std::string(last);
    }
    if (finished && !exited_) {
      // A pipe reaches EOF a moment before the exit is reaped and the other pipe drained;
      // wait for that, so that the message carries all of stderr.
      changed_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + kill_grace),
                          [this] { return exited_; });
    }
    if (finished || timed_out) {
      throw std::runtime_error(
          std::string(finished ? "ended"
                               : "timed out after " + std::to_string(timeout.count()) + "ms") +
          " waiting for a " + std::string(what) + " line starting with '" + std::string(prefix) +
          "' from " + describe_locked());
    }
    timed_out = changed_.wait_until(lock, deadline) == std::cv_status::timeout;
  }
}

std::string Process::wait_for_line(std::string_view prefix, std::chrono::milliseconds timeout) {
  return wait_for(&Process::out_, prefix, timeout, "stdout");
}

std::string Process::wait_for_stderr_line(std::string_view prefix,
                                          std::chrono::milliseconds timeout) {
  return wait_for(&Process::err_, prefix, timeout, "stderr");
}

bool Process::send_signal(int signal) {
  std::lock_guard lock(mutex_);
  // While exited_ is false the child has not been reaped, so pid_ still names it.
  return !exited_ && ::kill(pid_, signal) == 0;
}

int Process::wait_exit(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (changed_.wait_for(lock, timeout, [this] { return exited_; })) return exit_code_;
  ::kill(pid_, SIGKILL);
  changed_.wait_for(lock, kill_grace, [this] { return exited_; });
  const std::string description = describe_locked();
  lock.unlock();
  ADD_FAILURE() << program_ << " did not exit within " << timeout.count()
                << "ms; killed it with SIGKILL. " << description;
  return -SIGKILL;
}

bool Process::running() const {
  std::lock_guard lock(mutex_);
  return !exited_;
}

std::string Process::stdout_text() const {
  std::lock_guard lock(mutex_);
  return out_.text;
}

std::string Process::stderr_text() const {
  std::lock_guard lock(mutex_);
  return err_.text;
}

std::uint64_t UpstreamStats::calls(std::string_view endpoint_or_path) const {
  if (auto it = endpoints.find(endpoint_or_path); it != endpoints.end()) return it->second;
  if (auto it = paths.find(endpoint_or_path); it != paths.end()) return it->second;
  return 0;
}

namespace {

std::vector<std::string> upstream_args(std::vector<std::string> extra) {
  std::vector<std::string> args{"--listen", "127.0.0.1:0"};
  for (auto& arg : extra) args.push_back(std::move(arg));
  return args;
}

void read_counters(simdjson::dom::object object,
                   std::map<std::string, std::uint64_t, std::less<>>& into) {
  for (auto [key, value] : object) {
    std::uint64_t count = 0;
    if (value.get(count) != simdjson::SUCCESS) {
      throw std::runtime_error("/__stats: counter '" + std::string(key) + "' is not a number");
    }
    into.emplace(std::string(key), count);
  }
}

}  // namespace

UpstreamProcess::UpstreamProcess(std::vector<std::string> extra_args,
                                 std::chrono::milliseconds ready_timeout)
    : process(binary_path("levee-upstream"), upstream_args(std::move(extra_args))) {
  port = port_from_listen_line(process.wait_for_line("levee-upstream ready ", ready_timeout));
}

std::string UpstreamProcess::address() const { return "127.0.0.1:" + std::to_string(port); }

UpstreamStats UpstreamProcess::stats() const {
  const HttpResult result = http_get(port, "/__stats");
  if (!result.ok || result.status != 200) {
    throw std::runtime_error("GET /__stats failed: " + describe(result) + "\n" +
                             process.stderr_text());
  }
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  if (parser.parse(result.body).get(root) != simdjson::SUCCESS) {
    throw std::runtime_error("/__stats is not a JSON object: " + result.body);
  }
  UpstreamStats stats;
  simdjson::dom::object endpoints;
  simdjson::dom::object paths;
  if (root["total"].get(stats.total) != simdjson::SUCCESS ||
      root["endpoints"].get(endpoints) != simdjson::SUCCESS ||
      root["paths"].get(paths) != simdjson::SUCCESS) {
    throw std::runtime_error("/__stats lacks total, endpoints or paths: " + result.body);
  }
  read_counters(endpoints, stats.endpoints);
  read_counters(paths, stats.paths);
  return stats;
}

std::uint64_t UpstreamProcess::calls(std::string_view endpoint_or_path) const {
  return stats().calls(endpoint_or_path);
}

void UpstreamProcess::reset() const {
  const HttpResult result = http_post(port, "/__reset", "");
  if (!result.ok || result.status != 204) {
    throw std::runtime_error("POST /__reset failed: " + describe(result));
  }
}

}  // namespace levee::testing
