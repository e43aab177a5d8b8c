#include "telemetry/jsonl_sink.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace levee::telemetry {
namespace {

std::filesystem::path numbered(const std::filesystem::path& path, std::uint32_t n) {
  auto out = path;
  out += "." + std::to_string(n);
  return out;
}

}  // namespace

JsonlSink::JsonlSink(JsonlSinkOptions options) : options_(std::move(options)) { open(); }

JsonlSink::~JsonlSink() { close(); }

bool JsonlSink::write(const FlushEvent& event) noexcept {
  try {
    line_ = to_json(event);
    line_ += '\n';
  } catch (...) {
    fail("cannot serialise an event", ENOMEM);
    return false;
  }
  if (options_.max_bytes != 0 && bytes_ != 0 && bytes_ + line_.size() > options_.max_bytes) {
    if (!rotate()) return false;
  }
  if (file_ == nullptr && !open()) return false;
  if (std::fwrite(line_.data(), 1, line_.size(), file_) != line_.size()) {
    fail("cannot write", errno);
    close();  // reopened at the next write
    return false;
  }
  bytes_ += line_.size();
  return true;
}

void JsonlSink::flush() noexcept {
  if (file_ != nullptr && std::fflush(file_) != 0) {
    fail("cannot flush", errno);
    close();
  }
}

bool JsonlSink::open() noexcept {
  file_ = std::fopen(options_.path.c_str(), "ab");
  if (file_ == nullptr) {
    fail("cannot open", errno);
    return false;
  }
  // An existing file is appended to, and counts towards max_bytes.
  if (std::fseek(file_, 0, SEEK_END) == 0) {
    const long size = std::ftell(file_);
    bytes_ = size > 0 ? static_cast<std::uint64_t>(size) : 0;
  } else {
    bytes_ = 0;
  }
  return true;
}

void JsonlSink::close() noexcept {
  if (file_ == nullptr) return;
  if (std::fclose(file_) != 0) fail("cannot close", errno);
  file_ = nullptr;
  bytes_ = 0;
}

bool JsonlSink::rotate() noexcept {
  close();
  std::error_code ec;
  if (options_.keep_files == 0) {
    std::filesystem::remove(options_.path, ec);
  } else {
    // Oldest first, so that each rename has a free target; a missing file is no error.
    for (std::uint32_t n = options_.keep_files - 1; n >= 1; --n) {
      std::filesystem::rename(numbered(options_.path, n), numbered(options_.path, n + 1), ec);
      if (ec && ec != std::errc::no_such_file_or_directory) fail("cannot rotate", ec.value());
    }
    std::filesystem::rename(options_.path, numbered(options_.path, 1), ec);
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    fail("cannot rotate", ec.value());
    // Keep appending to the old file rather than losing events.
    return open();
  }
  rotations_.fetch_add(1, std::memory_order_relaxed);
  return open();
}

void JsonlSink::fail(std::string_view what, int error_number) noexcept {
  errors_.fetch_add(1, std::memory_order_relaxed);
  const auto admitted = log_throttle_.admit();
  if (!admitted) return;
  try {
    spdlog::warn("telemetry: jsonl sink: {} {}: {} ({} similar messages suppressed)", what,
                 options_.path.string(), std::generic_category().message(error_number), *admitted);
  } catch (...) {
    // Logging is best effort; the counter has the event.
  }
}

}  // namespace levee::telemetry
