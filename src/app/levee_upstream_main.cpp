// levee-upstream: argv, signals and threads around mock_upstream::Server.
// Prints exactly one line to stdout once listening ("levee-upstream ready listen=HOST:PORT"),
// exits 0 on SIGTERM/SIGINT, 1 when it cannot start, 2 on bad arguments.

#include <pthread.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "mock_upstream/options.hpp"
#include "mock_upstream/server.hpp"

namespace mock = levee::mock_upstream;

int main(int argc, char** argv) {
  CLI::App app{"levee-upstream: the bundled stand-in for a slow legacy HTTP service"};
  std::string listen;
  std::string latency = "0ms";
  std::string jitter = "0ms";
  std::string batch_latency;
  std::string release_every = "0";
  mock::Options options;
  app.add_option("--listen", listen, "HOST:PORT on loopback only; port 0 = ephemeral")->required();
  app.add_option("--latency", latency, "delay before each answer (e.g. 50ms)")
      ->capture_default_str();
  app.add_option("--jitter", jitter, "extra uniform delay in [0, jitter]")->capture_default_str();
  app.add_option("--error-rate", options.error_rate, "share of /api calls answered 500")
      ->capture_default_str();
  app.add_option("--workers", options.workers, "threads, each with its own listener")
      ->capture_default_str();
  app.add_option("--batch-latency", batch_latency, "delay of /process_batch (default: latency)");
  app.add_option("--release-every", release_every,
                 "hold each delayed answer to the next multiple of this, so answers go out in "
                 "groups, with an X-Levee-Batch header (0 = off)")
      ->capture_default_str();
  app.add_flag("--split-writes", options.split_writes,
               "send each answer's headers and body in two writes with Nagle on (TCP_NODELAY "
               "off), as many legacy servers do");
  CLI11_PARSE(app, argc, argv);

  try {
    options.listen = mock::parse_listen(listen);
    options.latency = mock::parse_duration(latency);
    options.jitter = mock::parse_duration(jitter);
    options.batch_latency =
        batch_latency.empty() ? options.latency : mock::parse_duration(batch_latency);
    options.release_every = mock::parse_duration(release_every);
    mock::validate(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "levee-upstream: %s\n", e.what());
    return 2;
  }

  // Blocked before any thread starts, so every thread inherits the mask and only sigwait()
  // below sees the signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    mock::Server server(options);
    std::printf("levee-upstream ready listen=%s\n", server.listen_address().c_str());
    std::fflush(stdout);

    std::vector<std::thread> threads;
    for (unsigned i = 0; i < server.worker_count(); ++i) {
      threads.emplace_back([&server, i] {
        try {
          server.run_worker(i);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "levee-upstream: worker %u failed: %s\n", i, e.what());
          std::_Exit(1);
        }
      });
    }
    int signal = 0;
    sigwait(&stop_signals, &signal);
    server.stop();
    for (auto& thread : threads) thread.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "levee-upstream: %s\n", e.what());
    return 1;
  }
  return 0;
}
