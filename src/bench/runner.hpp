#pragma once
// Runs a scenario against a target and measures it. Open loop: a dispatcher releases each
// request at its scheduled time onto a FIFO of due requests, served by a pool of HTTP/1.1
// keep-alive connections that grows on demand up to a cap; when every connection is busy the
// request waits, and its latency still counts from its scheduled time. Closed loop: N
// connections each send their next request as soon as the previous answer is in.
//
// Everything runs on one io_context on the calling thread; run() blocks until the schedule
// is done and every request is answered, timed out or cut (max_duration, SIGINT/SIGTERM).

#include <memory>

#include "bench/run_result.hpp"
#include "bench/scenario.hpp"
#include "bench/target.hpp"

namespace levee::bench {

struct RunSettings {
  Scenario scenario;
  Target target;
  bool progress = false;  // a status line each second on stdout
};

class Runner {
 public:
  explicit Runner(RunSettings settings);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  [[nodiscard]] RunResult run();

 private:
  class Run;
  std::unique_ptr<Run> run_;
};

}  // namespace levee::bench
