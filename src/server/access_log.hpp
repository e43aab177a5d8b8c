#pragma once
// Optional JSON-lines access log (off by default): one object per answered request.
// record() is called from every worker; it formats on the caller's thread and hands the line
// to spdlog's asynchronous file logger, whose bounded queue drops the oldest line rather than
// block a request when the disk is slow.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
namespace details {
class thread_pool;
}
}  // namespace spdlog

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
};

class AccessLog {
 public:
  // Throws std::runtime_error naming the path if the file cannot be opened.
  explicit AccessLog(const std::string& path);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void record(const AccessRecord& record);
  void flush();

 private:
  // Its own writer thread, joined in the destructor before the logger and its file go, so
  // no line is lost and no write races the teardown.
  std::shared_ptr<spdlog::details::thread_pool> pool_;
  std::shared_ptr<spdlog::logger> logger_;
};

// Formats one access-log line (without the newline); exposed for tests.
[[nodiscard]] std::string format_access_record(const AccessRecord& record,
                                               std::chrono::system_clock::time_point now);

}  // namespace levee::server
