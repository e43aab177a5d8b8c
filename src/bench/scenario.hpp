#pragma once
// A load scenario: what levee-bench sends, when, and how each answer is checked. Loaded from
// a TOML file (bench/scenarios/*.toml, format in bench/README.md); plain data, no behaviour.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace levee::bench {

using Nanos = std::chrono::nanoseconds;

enum class LoopMode { open, closed };
enum class Arrival { uniform, poisson };
enum class KeyDistribution { single, uniform, zipf };
enum class Verification { echo, id, status, none };

// One stretch of an open-loop schedule. Rates are requests per second.
struct Phase {
  enum class Kind { constant, ramp, waves };
  Kind kind = Kind::constant;
  Nanos duration{0};     // constant and ramp
  double rate_from = 0;  // constant: the rate; ramp: the rate at the start
  double rate_to = 0;    // ramp: the rate at the end
  Arrival arrival = Arrival::uniform;
  std::uint64_t waves = 0;  // waves: how many, of wave_size requests each, interval apart
  std::uint64_t wave_size = 0;
  Nanos interval{0};
  std::string label;  // optional, shown in the summary
};

struct KeySpace {
  KeyDistribution distribution = KeyDistribution::single;
  std::uint64_t count = 1;
  double zipf_exponent = 1.0;
};

// Templates may use {key}, {seq} (the request's number, unique in a run) and {user}.
struct RequestTemplate {
  std::string method = "GET";
  std::string path = "/api/item/{key}";
  std::string query;
  std::string body;         // POST/PUT only; default {"id":{seq}}
  std::uint64_t users = 0;  // > 0: one of `users` credentials per request, in rotation
  std::string authorization = "Bearer user-{user}";
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Limits {
  Nanos max_duration{std::chrono::minutes(10)};  // hard stop for the whole run
  std::uint64_t max_requests = 10'000'000;
  std::uint64_t max_connections = 1024;
  std::uint64_t max_queued = 1'000'000;  // due requests waiting for a free connection
  Nanos timeout{std::chrono::seconds(10)};
};

struct Scenario {
  std::string name;
  std::string description;
  LoopMode mode = LoopMode::open;
  std::vector<Phase> phases;       // open loop
  std::uint64_t connections = 50;  // closed loop
  Nanos duration{0};               // closed loop: how long (0: until max_requests)
  KeySpace keys;
  RequestTemplate request;
  Verification verify = Verification::echo;
  // A response header in levee's batch debug format (`X-Levee-Batch: items=N; waited_us=W;
  // upstream_us=U`): each 2xx answer's latency minus W and U is levee's own overhead,
  // reported apart (bench/batch_timing.hpp). Empty: not measured.
  std::string overhead_header;
  Limits limits;
  std::uint64_t seed = 1;
};

[[nodiscard]] const char* to_string(LoopMode mode) noexcept;
[[nodiscard]] const char* to_string(Verification verification) noexcept;

}  // namespace levee::bench
