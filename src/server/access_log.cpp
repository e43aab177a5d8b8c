#include "server/access_log.hpp"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "core/json_string.hpp"

namespace levee::server {

namespace {

int open_log(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// Writes all of `bytes`, retrying short writes; returns 0, or the errno of the failure with
// `bytes` advanced past what was written.
int write_all(int fd, std::string_view& bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

std::string suppressed_note(std::uint64_t suppressed) {
  return suppressed > 0 ? fmt::format(" ({} similar messages suppressed)", suppressed)
                        : std::string{};
}

}  // namespace

std::string format_access_record(const AccessRecord& r, std::chrono::system_clock::time_point now) {
  std::string line;
  line.reserve(256);
  // fmt 9 prints a time_point's whole seconds only: the milliseconds are added by hand.
  const auto seconds = std::chrono::floor<std::chrono::seconds>(now);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now - seconds);
  fmt::format_to(std::back_inserter(line), "{{\"time\":\"{:%FT%T}.{:03}Z\"", seconds,
                 millis.count());
  line += ",\"client\":";
  core::append_json_string(line, r.client);
  line += ",\"method\":";
  core::append_json_string(line, r.method);
  line += ",\"target\":";
  core::append_json_string(line, r.target);
  line += ",\"host\":";
  core::append_json_string(line, r.host);
  line += ",\"route\":";
  core::append_json_string(line, r.route);
  fmt::format_to(std::back_inserter(line),
                 ",\"status\":{},\"request_bytes\":{},\"response_bytes\":{},\"duration_ms\":{:.3f}",
                 r.status, r.request_bytes, r.response_bytes, r.duration_seconds * 1000.0);
  if (r.phases != nullptr) {
    const auto ms = [](core::Clock::duration d) {
      return std::chrono::duration<double, std::milli>(d).count();
    };
    fmt::format_to(std::back_inserter(line),
                   ",\"admission_ms\":{:.3f},\"parked_ms\":{:.3f},\"upstream_ms\":{:.3f},"
                   "\"added_ms\":{:.3f}",
                   ms(r.phases->admission), ms(r.phases->parked), ms(r.phases->upstream),
                   ms(r.phases->added()));
  }
  line += '}';
  return line;
}

AccessLog::AccessLog(std::string path, AccessLogOptions options)
    : path_(std::move(path)), options_(options) {
  fd_ = open_log(path_);
  if (fd_ < 0) {
    throw std::runtime_error(fmt::format("cannot open access log \"{}\": {}", path_,
                                         std::generic_category().message(errno)));
  }
  writer_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() { stop(); }

void AccessLog::record(const AccessRecord& record) {
  append(format_access_record(record, std::chrono::system_clock::now()));
}

void AccessLog::append(std::string_view line) {
  bool wake = false;
  bool dropped = false;
  bool closed = false;
  std::size_t pending_bytes = 0;
  {
    std::lock_guard lock(mutex_);
    pending_bytes = pending_.size();
    closed = closed_;
    if (closed_ || pending_bytes + line.size() + 1 > options_.max_pending_bytes) {
      dropped = true;
    } else {
      pending_.append(line);
      pending_ += '\n';
      // Only the record that crosses the threshold wakes the writer, not every one after it.
      wake =
          pending_bytes < options_.write_threshold && pending_.size() >= options_.write_threshold;
    }
  }
  if (wake) wake_.notify_one();
  if (dropped) {
    dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);
    if (!closed) warn_dropped(pending_bytes);
  }
}

void AccessLog::flush() {
  std::unique_lock lock(mutex_);
  if (closed_) return;
  const std::uint64_t ticket = ++flush_requested_;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return flush_done_ >= ticket || closed_; });
}

void AccessLog::reopen() {
  {
    std::lock_guard lock(mutex_);
    reopen_requested_ = true;
  }
  wake_.notify_one();
}

void AccessLog::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

AccessLogCounts AccessLog::counts() const noexcept {
  return AccessLogCounts{written_.load(std::memory_order_relaxed),
                         dropped_queue_full_.load(std::memory_order_relaxed),
                         dropped_write_error_.load(std::memory_order_relaxed),
                         write_errors_.load(std::memory_order_relaxed)};
}

void AccessLog::run() {
  std::string batch;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, options_.flush_interval, [this] {
      return stopping_ || reopen_requested_ || flush_requested_ != flush_done_ ||
             pending_.size() >= options_.write_threshold;
    });
    // Swapping keeps both buffers' capacity: neither side allocates in the steady state.
    batch.swap(pending_);
    const bool reopen = std::exchange(reopen_requested_, false);
    const std::uint64_t flush_ticket = flush_requested_;
    lock.unlock();

    write_out(batch);
    batch.clear();
    // Lines queued before the reopen go to the old file, which logrotate has renamed: the
    // rotated file ends with everything recorded before the signal.
    if (reopen) reopen_file();

    lock.lock();
    flush_done_ = flush_ticket;
    closed_ = stopping_ && pending_.empty() && !reopen_requested_;
    flushed_.notify_all();
    if (closed_) return;
  }
}

void AccessLog::write_out(std::string_view bytes) {
  if (bytes.empty()) return;
  const auto lines = static_cast<std::uint64_t>(std::count(bytes.begin(), bytes.end(), '\n'));
  int error = 0;
  if (torn_) {
    // A partial line left by an earlier failure gets ended, so that the next line parses.
    std::string_view newline = "\n";
    error = write_all(fd_, newline);
    torn_ = error != 0;
  }
  const std::size_t size = bytes.size();
  if (error == 0) error = write_all(fd_, bytes);
  if (error == 0) {
    written_.fetch_add(lines, std::memory_order_relaxed);
    return;
  }
  if (bytes.size() != size && *(bytes.data() - 1) != '\n') torn_ = true;
  const auto lost = static_cast<std::uint64_t>(std::count(bytes.begin(), bytes.end(), '\n'));
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  dropped_write_error_.fetch_add(lost, std::memory_order_relaxed);
  written_.fetch_add(lines - lost, std::memory_order_relaxed);
  if (auto suppressed = error_log_.admit()) {
    spdlog::warn("access log: cannot write to \"{}\": {}; {} lines lost{}", path_,
                 std::generic_category().message(error), lost, suppressed_note(*suppressed));
  }
}

void AccessLog::reopen_file() {
  const int fd = open_log(path_);
  if (fd < 0) {
    spdlog::error("access log: cannot reopen \"{}\": {}; still writing to the old file", path_,
                  std::generic_category().message(errno));
    return;
  }
  ::close(fd_);
  fd_ = fd;
  torn_ = false;
  spdlog::info("access log: reopened \"{}\"", path_);
}

void AccessLog::warn_dropped(std::size_t pending_bytes) {
  if (auto suppressed = drop_log_.admit()) {
    spdlog::warn("access log: {} bytes wait for the disk (the bound is {}): a line was dropped{}",
                 pending_bytes, options_.max_pending_bytes, suppressed_note(*suppressed));
  }
}

}  // namespace levee::server
