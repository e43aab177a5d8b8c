#pragma once
// Flush events as JSON lines (one to_json() object per line) appended to a file, rotated by
// size like logrotate: when the next line would take `path` past max_bytes, path.(keep-1) →
// path.keep, …, path → path.1, and a new `path` is started; at most `keep_files` rotated files
// are kept. A single line longer than max_bytes still goes into a fresh file of its own.
//
// Threading: as every Sink, driven by one thread. Errors (cannot open, write or rename) are
// counted in errors() and logged at most once a second; they never throw. After a failed
// write the file is reopened on the next one.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "core/log_throttle.hpp"
#include "telemetry/sink.hpp"

namespace levee::telemetry {

struct JsonlSinkOptions {
  std::filesystem::path path;
  std::uint64_t max_bytes = 64ull << 20;  // 0: never rotate
  std::uint32_t keep_files = 5;           // rotated files kept besides `path`
};

class JsonlSink final : public Sink {
 public:
  // Opens (appends to) options.path; a failure is counted and retried at the first write.
  explicit JsonlSink(JsonlSinkOptions options);
  ~JsonlSink() override;

  [[nodiscard]] bool write(const FlushEvent& event) noexcept override;
  void flush() noexcept override;
  [[nodiscard]] std::string_view name() const noexcept override { return "jsonl"; }

  [[nodiscard]] std::uint64_t errors() const noexcept {
    return errors_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t rotations() const noexcept {
    return rotations_.load(std::memory_order_relaxed);
  }

 private:
  bool open() noexcept;
  void close() noexcept;
  bool rotate() noexcept;
  void fail(std::string_view what, int error_number) noexcept;

  const JsonlSinkOptions options_;
  std::FILE* file_ = nullptr;
  std::uint64_t bytes_ = 0;  // size of the current file
  std::string line_;         // reused buffer
  core::LogThrottle log_throttle_{1};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> rotations_{0};
};

}  // namespace levee::telemetry
