#pragma once
// The HTTP/2 attacker (tests/peers/h2_attack.py) run from a test, and the measurements that
// show a server survived it.
//
// H2Attack starts the attacker as a child process (one JSON line on stdout when it is done)
// and wait() parses that line into an H2AttackResult; run_h2_attack() does both. The attack
// is bounded by its own --seconds; wait() allows that plus a grace before it gives up.
// Errors (the attacker could not connect, exited non-zero, printed no JSON) are thrown as
// std::runtime_error with the attacker's output in the message.
//
// UsageMeter samples a process's resident memory (/proc/PID/status VmRSS, and the peak
// VmHWM, reset when the meter starts) and CPU time (/proc/PID/stat utime + stime) when
// constructed and again on usage(), so that a test can assert a generous cap on memory
// growth ("bounded memory"): a cap, never a timing threshold.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "support/process.hpp"

namespace levee::testing {

struct H2AttackOptions {
  std::string mode;  // rapid-reset, continuation-flood, settings-flood, ping-flood,
                     // zero-window, header-list-size, get, upload
  std::uint16_t port = 0;
  std::optional<std::uint64_t> limit;  // frames or streams; the attacker's default if unset
  std::chrono::milliseconds time_cap = std::chrono::seconds(10);
  std::optional<std::uint64_t> max_bytes;
  std::string path = "/";
  std::string release_file;  // mode "upload": the second half goes once this file exists
};

struct H2Goaway {
  std::uint32_t last_stream_id = 0;
  std::uint32_t error_code = 0;
  std::string error;  // "ENHANCE_YOUR_CALM", ...
  std::string debug;
};

struct H2AttackResult {
  std::string mode;
  // "goaway", "tcp_close", "tcp_reset", "still_open" (its PING probe was answered after the
  // attack) or "timeout_still_open" (the attacker's own time cap ended it).
  std::string ended;
  // "limit", "byte_cap", "time_cap", "connection_ended", "streams_reset" (zero-window)
  std::string stopped_because;
  std::uint64_t frames_sent = 0;
  std::uint64_t bytes_sent = 0;
  double seconds = 0;
  std::optional<H2Goaway> goaway;
  std::string tcp_end;  // "tcp_close", "tcp_reset" or empty while the connection was open
  bool probe_acked = false;
  bool send_blocked = false;  // the server stopped reading for a while
  std::uint64_t rst_stream_received = 0;
  std::map<std::string, std::uint64_t, std::less<>> rst_stream_errors;  // "CANCEL" -> count
  std::map<std::string, std::uint64_t, std::less<>> server_settings;    // "MAX_CONCURRENT_..."
  std::uint64_t settings_acks_received = 0;
  std::uint64_t ping_acks_received = 0;
  std::uint64_t response_headers = 0;
  std::map<std::string, std::uint64_t, std::less<>> response_statuses;  // "200" -> count
  std::uint64_t data_bytes_received = 0;
  std::uint64_t streams_opened = 0;
  bool response_complete = false;  // modes "get", "upload": the response arrived whole
  bool released = false;           // mode "upload": the second half was sent
  std::string json;                // the attacker's line, for failure messages

  // The server ended the connection: a GOAWAY, or a TCP close or reset.
  [[nodiscard]] bool server_closed() const { return goaway.has_value() || !tcp_end.empty(); }
};

class H2Attack {
 public:
  explicit H2Attack(const H2AttackOptions& options);
  // Waits for the attacker's JSON line; throws std::runtime_error on failure.
  [[nodiscard]] H2AttackResult wait();

 private:
  std::chrono::milliseconds time_cap_;
  Process process_;
};

[[nodiscard]] H2AttackResult run_h2_attack(const H2AttackOptions& options);

// Parses the attacker's JSON line; throws std::runtime_error when it is not one.
[[nodiscard]] H2AttackResult parse_h2_attack_result(const std::string& line);

struct ProcessUsage {
  std::int64_t rss_bytes = 0;       // VmRSS
  std::int64_t peak_rss_bytes = 0;  // VmHWM
  std::chrono::nanoseconds cpu{0};  // utime + stime
};

// Throws std::runtime_error when /proc/PID cannot be read (the process is gone).
[[nodiscard]] ProcessUsage sample_usage(pid_t pid);

struct UsageGrowth {
  std::int64_t rss_bytes = 0;       // VmRSS now minus at the start
  std::int64_t peak_rss_bytes = 0;  // peak VmRSS since the start minus VmRSS at the start
  std::chrono::nanoseconds cpu{0};  // CPU time spent since the start
};

class UsageMeter {
 public:
  // Resets the process's peak RSS (/proc/PID/clear_refs "5") so that the peak seen later
  // belongs to this measurement; on kernels without it the peak is the lifetime peak, an
  // overestimate, which keeps a cap safe.
  explicit UsageMeter(pid_t pid);
  [[nodiscard]] UsageGrowth growth() const;
  [[nodiscard]] const ProcessUsage& before() const { return before_; }

 private:
  pid_t pid_;
  ProcessUsage before_;
};

}  // namespace levee::testing
