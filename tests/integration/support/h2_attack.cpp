#include "support/h2_attack.hpp"

#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace levee::testing {
namespace {

namespace dom = simdjson::dom;

// Beyond the attacker's own time cap: python's start-up on a loaded machine.
constexpr auto exit_grace = std::chrono::seconds(30);

std::vector<std::string> attacker_arguments(const H2AttackOptions& options) {
  std::vector<std::string> args = {
      source_path("tests/peers/h2_attack.py"),
      "--host",
      "127.0.0.1",
      "--port",
      std::to_string(options.port),
      "--mode",
      options.mode,
      "--seconds",
      std::to_string(std::chrono::duration<double>(options.time_cap).count()),
      "--path",
      options.path};
  if (options.limit) {
    args.insert(args.end(), {"--limit", std::to_string(*options.limit)});
  }
  if (options.max_bytes) {
    args.insert(args.end(), {"--max-bytes", std::to_string(*options.max_bytes)});
  }
  if (!options.release_file.empty()) {
    args.insert(args.end(), {"--release-file", options.release_file});
  }
  return args;
}

std::string last_line(const std::string& text) {
  auto end = text.find_last_not_of("\r\n");
  if (end == std::string::npos) return {};
  const auto begin = text.rfind('\n', end);
  return text.substr(begin == std::string::npos ? 0 : begin + 1,
                     end - (begin == std::string::npos ? 0 : begin + 1) + 1);
}

template <class Value>
void read_field(dom::object object, std::string_view key, Value& out) {
  Value value{};
  if (object[key].get(value) == simdjson::SUCCESS) out = value;
}

void read_field(dom::object object, std::string_view key, std::string& out) {
  std::string_view value;
  if (object[key].get(value) == simdjson::SUCCESS) out = std::string(value);
}

void read_counters(dom::object object, std::string_view key,
                   std::map<std::string, std::uint64_t, std::less<>>& out) {
  dom::object counters;
  if (object[key].get(counters) != simdjson::SUCCESS) return;
  for (const auto field : counters) {
    std::uint64_t count = 0;
    if (field.value.get(count) == simdjson::SUCCESS) out[std::string(field.key)] = count;
  }
}

// "Name:   1234 kB" from /proc/PID/status, in bytes.
std::int64_t status_kilobytes(const std::string& status, std::string_view name) {
  const auto at = status.find(std::string(name) + ":");
  if (at == std::string::npos) return 0;
  return std::stoll(status.substr(at + name.size() + 1)) * 1024;
}

std::string read_whole(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

H2AttackResult parse_h2_attack_result(const std::string& line) {
  dom::parser parser;
  dom::object root;
  if (parser.parse(line).get(root) != simdjson::SUCCESS) {
    throw std::runtime_error("h2_attack.py printed no JSON object: '" + line + "'");
  }
  std::string_view error;
  if (root["error"].get(error) == simdjson::SUCCESS) {
    throw std::runtime_error("h2_attack.py failed: " + std::string(error));
  }
  H2AttackResult result;
  result.json = line;
  read_field(root, "mode", result.mode);
  read_field(root, "ended", result.ended);
  read_field(root, "stopped_because", result.stopped_because);
  read_field(root, "frames_sent", result.frames_sent);
  read_field(root, "bytes_sent", result.bytes_sent);
  read_field(root, "seconds", result.seconds);
  read_field(root, "tcp_end", result.tcp_end);
  read_field(root, "probe_acked", result.probe_acked);
  read_field(root, "send_blocked", result.send_blocked);
  read_field(root, "rst_stream_received", result.rst_stream_received);
  read_field(root, "settings_acks_received", result.settings_acks_received);
  read_field(root, "ping_acks_received", result.ping_acks_received);
  read_field(root, "response_headers", result.response_headers);
  read_field(root, "data_bytes_received", result.data_bytes_received);
  read_field(root, "streams_opened", result.streams_opened);
  read_field(root, "response_complete", result.response_complete);
  read_field(root, "released", result.released);
  read_counters(root, "rst_stream_errors", result.rst_stream_errors);
  read_counters(root, "server_settings", result.server_settings);
  read_counters(root, "response_statuses", result.response_statuses);
  dom::object goaway;
  if (root["goaway"].get(goaway) == simdjson::SUCCESS) {
    H2Goaway frame;
    std::uint64_t number = 0;
    if (goaway["last_stream_id"].get(number) == simdjson::SUCCESS) {
      frame.last_stream_id = static_cast<std::uint32_t>(number);
    }
    if (goaway["error_code"].get(number) == simdjson::SUCCESS) {
      frame.error_code = static_cast<std::uint32_t>(number);
    }
    read_field(goaway, "error", frame.error);
    read_field(goaway, "debug", frame.debug);
    result.goaway = frame;
  }
  if (result.ended.empty()) {
    throw std::runtime_error("h2_attack.py's line has no \"ended\": " + line);
  }
  return result;
}

H2Attack::H2Attack(const H2AttackOptions& options)
    : time_cap_(options.time_cap), process_("/usr/bin/python3", attacker_arguments(options)) {}

H2AttackResult H2Attack::wait() {
  const int status = process_.wait_exit(time_cap_ + exit_grace);
  const std::string line = last_line(process_.stdout_text());
  if (status != 0 && line.empty()) {
    throw std::runtime_error("h2_attack.py exited with " + std::to_string(status) + ": " +
                             process_.stderr_text());
  }
  return parse_h2_attack_result(line);
}

H2AttackResult run_h2_attack(const H2AttackOptions& options) { return H2Attack(options).wait(); }

ProcessUsage sample_usage(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  const std::string status = read_whole(proc + "/status");
  const std::string stat = read_whole(proc + "/stat");
  // The command name (field 2) may hold spaces and parentheses: count fields after the last
  // ')'. utime and stime are fields 14 and 15, i.e. the 12th and 13th after it.
  const auto name_end = stat.rfind(')');
  if (name_end == std::string::npos) throw std::runtime_error("bad " + proc + "/stat: " + stat);
  std::istringstream fields(stat.substr(name_end + 1));
  std::string skipped;
  for (int field = 3; field <= 13; ++field) fields >> skipped;
  long long user_ticks = 0;
  long long system_ticks = 0;
  fields >> user_ticks >> system_ticks;
  if (!fields) throw std::runtime_error("no utime/stime in " + proc + "/stat: " + stat);
  const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  ProcessUsage usage;
  usage.rss_bytes = status_kilobytes(status, "VmRSS");
  usage.peak_rss_bytes = status_kilobytes(status, "VmHWM");
  usage.cpu =
      std::chrono::nanoseconds((user_ticks + system_ticks) * 1'000'000'000LL / ticks_per_second);
  return usage;
}

UsageMeter::UsageMeter(pid_t pid) : pid_(pid) {
  const std::string clear_refs = "/proc/" + std::to_string(pid) + "/clear_refs";
  const int fd = ::open(clear_refs.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    // "5": reset the peak RSS to the current RSS (Linux 4.0+); failure leaves the lifetime
    // peak, which only overestimates the growth.
    [[maybe_unused]] const auto written = ::write(fd, "5", 1);
    ::close(fd);
  }
  before_ = sample_usage(pid);
}

UsageGrowth UsageMeter::growth() const {
  const ProcessUsage now = sample_usage(pid_);
  return {now.rss_bytes - before_.rss_bytes, now.peak_rss_bytes - before_.rss_bytes,
          now.cpu - before_.cpu};
}

}  // namespace levee::testing
