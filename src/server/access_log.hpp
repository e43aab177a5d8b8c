#pragma once
// Optional JSON-lines access log (off by default): one object per answered request.
//
// Threads: record() is called from every worker. It formats the line on the caller's thread
// and appends it, whole and with its newline, to a bounded buffer under a mutex. One writer
// thread, owned by the AccessLog, takes the whole buffer and hands it to write(2) on a file
// opened with O_APPEND: at least once per flush_interval, sooner once write_threshold bytes
// wait, and at once on flush(), reopen() and stop(). Nothing is buffered in stdio, so a reader
// never sees a line cut at a buffer boundary, and a line is in the file within flush_interval.
//
// Bound: when the buffer holds max_pending_bytes, record() drops the line rather than block
// a request behind a slow disk; drops are counted and logged at most once a second. A failed
// write (ENOSPC, EIO) loses the lines it carried, counted and logged the same way; the log
// keeps going and never throws after construction.
//
// reopen() (SIGUSR1, for logrotate) returns at once; the writer then writes what is pending
// to the old file, opens the path again and only then closes the old descriptor, so a failed
// open keeps the old file (logged as an error). stop(), also run by the destructor, writes
// every pending line, joins the writer and closes the file.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "core/log_throttle.hpp"
#include "core/phases.hpp"

namespace levee::server {

struct AccessRecord {
  std::string_view client;
  std::string_view method;
  std::string_view target;
  std::string_view host;
  std::string_view route;
  int status = 0;
  std::size_t response_bytes = 0;
  std::size_t request_bytes = 0;
  double duration_seconds = 0;
  // Where the time went (core/phases.hpp); null for requests no route answered.
  const core::PhaseBreakdown* phases = nullptr;
};

struct AccessLogOptions {
  std::chrono::milliseconds flush_interval{1000};
  std::size_t write_threshold = std::size_t{64} << 10;   // wake the writer early
  std::size_t max_pending_bytes = std::size_t{8} << 20;  // beyond this, lines are dropped
};

// What became of the lines offered to the log; every counter only grows.
struct AccessLogCounts {
  std::uint64_t written = 0;
  std::uint64_t dropped_queue_full = 0;   // also lines offered after stop()
  std::uint64_t dropped_write_error = 0;  // lines a failed write did not finish
  std::uint64_t write_errors = 0;         // failed write(2) calls
};

class AccessLog {
 public:
  // Opens (appends to, or creates with mode 0644) `path` and starts the writer. Throws
  // std::runtime_error naming the path if the file cannot be opened.
  explicit AccessLog(std::string path, AccessLogOptions options = {});
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void record(const AccessRecord& record);
  // Queues one line as record() does after formatting it; `line` has no newline.
  void append(std::string_view line);
  // Returns once every line queued before the call is written (or counted as lost).
  void flush();
  // Asks the writer to reopen the path (after logrotate renamed the file); returns at once.
  void reopen();
  // Writes everything pending, joins the writer and closes the file. Idempotent.
  void stop();

  [[nodiscard]] AccessLogCounts counts() const noexcept;

 private:
  void run();
  void write_out(std::string_view bytes);
  void reopen_file();
  void warn_dropped(std::size_t pending_bytes);

  const std::string path_;
  const AccessLogOptions options_;
  int fd_ = -1;        // touched only by the writer thread while it runs
  bool torn_ = false;  // a failed write left a partial line at the end of the file

  std::mutex mutex_;
  std::condition_variable wake_;     // the writer waits here
  std::condition_variable flushed_;  // flush() waits here
  std::string pending_;              // complete lines, each ending in '\n'
  bool reopen_requested_ = false;
  bool stopping_ = false;
  bool closed_ = false;                // the writer has exited: lines are dropped
  std::uint64_t flush_requested_ = 0;  // flush() calls so far
  std::uint64_t flush_done_ = 0;       // the writer has written what each of those queued

  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_queue_full_{0};
  std::atomic<std::uint64_t> dropped_write_error_{0};
  std::atomic<std::uint64_t> write_errors_{0};
  core::LogThrottle drop_log_{1};
  core::LogThrottle error_log_{1};

  std::thread writer_;  // last: starts once every other member exists
};

// Formats one access-log line (without the newline); exposed for tests.
[[nodiscard]] std::string format_access_record(const AccessRecord& record,
                                               std::chrono::system_clock::time_point now);

}  // namespace levee::server
