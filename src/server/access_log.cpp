#include "server/access_log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <stdexcept>

#include "core/json_string.hpp"

namespace levee::server {

namespace {

constexpr std::size_t k_queue_lines = 65536;

std::string unique_logger_name() {
  static std::atomic<unsigned> counter{0};
  return fmt::format("levee-access-{}", counter.fetch_add(1));
}

}  // namespace

std::string format_access_record(const AccessRecord& r, std::chrono::system_clock::time_point now) {
  std::string line;
  line.reserve(256);
  auto millis = std::chrono::time_point_cast<std::chrono::milliseconds>(now);
  fmt::format_to(std::back_inserter(line), "{{\"time\":\"{:%FT%T}Z\"", millis);
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
  fmt::format_to(
      std::back_inserter(line),
      ",\"status\":{},\"request_bytes\":{},\"response_bytes\":{},\"duration_ms\":{:.3f}}}",
      r.status, r.request_bytes, r.response_bytes, r.duration_seconds * 1000.0);
  return line;
}

AccessLog::AccessLog(const std::string& path)
    : pool_(std::make_shared<spdlog::details::thread_pool>(k_queue_lines, 1)) {
  try {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
    logger_ = std::make_shared<spdlog::async_logger>(unique_logger_name(), std::move(sink), pool_,
                                                     spdlog::async_overflow_policy::overrun_oldest);
    logger_->set_pattern("%v");
    logger_->set_level(spdlog::level::info);
  } catch (const spdlog::spdlog_ex& e) {
    throw std::runtime_error(fmt::format("cannot open access log \"{}\": {}", path, e.what()));
  }
}

AccessLog::~AccessLog() {
  try {
    flush();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "access log: last lines may be lost: %s\n", e.what());
  }
  // The pool's destructor writes every queued line and joins its thread.
  pool_.reset();
  logger_.reset();
}

void AccessLog::record(const AccessRecord& record) {
  logger_->info(format_access_record(record, std::chrono::system_clock::now()));
}

void AccessLog::flush() {
  if (logger_) logger_->flush();
}

}  // namespace levee::server
