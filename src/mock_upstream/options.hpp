#pragma once
// levee-upstream's settings after argv parsing, and the checks that turn command-line text
// into them. Start-up code only: these functions throw std::invalid_argument with a message
// fit for the user, and are never called on the request path.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace levee::mock_upstream {

using Duration = std::chrono::nanoseconds;

struct ListenAddress {
  std::string host;        // a literal loopback address: 127.0.0.0/8 or ::1
  std::uint16_t port = 0;  // 0 = ephemeral
};

struct Options {
  ListenAddress listen{"127.0.0.1", 0};
  Duration latency{0};
  Duration jitter{0};       // each delayed answer waits latency + uniform [0, jitter]
  double error_rate = 0.0;  // share of /api calls answered 500
  unsigned workers = 1;
  // /process_batch waits this (plus jitter) instead of latency; levee-upstream's main sets it
  // to latency when --batch-latency is not given.
  Duration batch_latency{0};
  // > 0: a delayed answer waits on past its latency to the next multiple of release_every on
  // the steady clock, so every answer due within one interval goes out at once, one after
  // another, as levee writes a batch's answers; each carries levee's batch debug header
  // (X-Levee-Batch: items=1; waited_us=W; upstream_us=0, W the time it was held). This is
  // bench/batch_overhead.sh's control: the fan-out cost of a server that does nothing else.
  Duration release_every{0};
  // The header block and the body go out in two sends with Nagle's algorithm on (no
  // TCP_NODELAY), as many legacy stacks (Python's http.server among them) answer: the body
  // then waits for the ACK of the header segment. Reproduces the delayed-ACK stall a proxy
  // must not suffer on a reused upstream connection.
  bool split_writes = false;
};

// "127.0.0.1:8080", "[::1]:0", "localhost:0". Refuses every address outside 127.0.0.0/8 and
// ::1: the mock is a test tool and must never be reachable from another host.
[[nodiscard]] ListenAddress parse_listen(std::string_view text);

// "50ms", "1.5s", "250us", "0" (levee's own duration syntax).
[[nodiscard]] Duration parse_duration(std::string_view text);

// Throws when a value is out of range (error rate outside [0, 1], no workers, ...).
void validate(const Options& options);

[[nodiscard]] bool is_loopback_literal(std::string_view host);

}  // namespace levee::mock_upstream
