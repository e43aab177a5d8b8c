// levee: `serve --config FILE`, `check --config FILE`, `--version`.
// argv, signals and threads only; everything else lives in the libraries.

#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "config/config_error.hpp"
#include "config/loader.hpp"
#include "config/preflight.hpp"
#include "config/units.hpp"
#include "proxy/proxy_server.hpp"
#include "server/service_notify.hpp"

namespace {

// serve and check refuse a configuration for the same problems, reported alike.
bool passes_preflight(const levee::config::Config& config, levee::config::PreflightFor purpose) {
  const auto errors = levee::config::preflight(config, purpose);
  if (errors.empty()) return true;
  std::cerr << levee::config::ConfigErrors(errors).what() << '\n';
  return false;
}

int check(const std::string& path) {
  try {
    auto config = levee::config::load_file(path);
    if (!passes_preflight(config, levee::config::PreflightFor::check)) return 1;
    std::cout << path << ": ok (" << config.upstreams.size() << " upstreams, "
              << config.routes.size() << " routes, " << config.server.workers << " workers)\n";
    return 0;
  } catch (const levee::config::ConfigErrors& e) {
    std::cerr << e.what() << '\n';
    return 1;
  }
}

void configure_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("levee");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
}

int serve(const std::string& path, levee::proxy::StartOptions options) {
  levee::config::Config config;
  try {
    config = levee::config::load_file(path);
  } catch (const levee::config::ConfigErrors& e) {
    std::cerr << e.what() << '\n';
    return 1;
  }
  if (!passes_preflight(config, levee::config::PreflightFor::serve)) return 1;
  configure_logging(config.log.level);

  // Every thread started from here on inherits this mask, so SIGINT/SIGTERM/SIGHUP/SIGUSR1
  // reach only the sigwait below and never interrupt a worker.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<levee::proxy::ProxyServer> server;
  try {
    server = std::make_unique<levee::proxy::ProxyServer>(std::move(config), options);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  server->start();
  const auto listen = server->listen_endpoint();
  const auto admin = server->admin_endpoint();
  spdlog::info("levee {} listening on {}:{} (admin {}:{}), {} workers", LEVEE_VERSION,
               listen.address().to_string(), listen.port(), admin.address().to_string(),
               admin.port(), server->config().server.workers);
  // The machine-readable ready line tools and tests wait for.
  std::printf("levee ready listen=%s:%u admin=%s:%u\n", listen.address().to_string().c_str(),
              listen.port(), admin.address().to_string().c_str(), admin.port());
  std::fflush(stdout);
  // The same moment for systemd (Type=notify, debian/levee.service): the listeners accept now.
  levee::server::notify_service_manager("READY=1");

  // SIGHUP reloads the configuration file and the learned policies' model files (nginx's
  // reload signal; [server], [log] and [telemetry] need a restart). SIGUSR1 reopens the access
  // log, as nginx does for logrotate.
  int received = 0;
  for (;;) {
    sigwait(&signals, &received);
    if (received == SIGHUP) {
      spdlog::info("SIGHUP received: reloading {}", path);
      const auto outcome = server->reload_config();
      // The machine-readable line tools and tests wait for, one per SIGHUP.
      std::printf("levee reload %llu %s generation=%llu\n",
                  static_cast<unsigned long long>(outcome.attempt), outcome.ok ? "ok" : "failed",
                  static_cast<unsigned long long>(outcome.generation));
      std::fflush(stdout);
    } else if (received == SIGUSR1) {
      spdlog::info("SIGUSR1 received: reopening the access log");
      server->reopen_logs();
    } else {
      break;
    }
  }
  const auto drain_timeout = server->config().server.drain_timeout;
  spdlog::info("{} received: draining (up to {})", strsignal(received),
               levee::config::format_duration(drain_timeout));
  levee::server::notify_service_manager("STOPPING=1");
  server->begin_drain();
  std::printf("levee draining\n");
  std::fflush(stdout);

  // A second signal cuts the drain short.
  std::atomic<bool> drained{false};
  std::atomic<bool> second_signal{false};
  std::thread watcher([&] {
    const timespec poll{0, 100'000'000};
    while (!drained.load()) {
      const int next = sigtimedwait(&signals, nullptr, &poll);
      if (next == SIGHUP) {
        server->reload_models();
      } else if (next == SIGUSR1) {
        server->reopen_logs();
      } else if (next > 0) {
        second_signal.store(true);
        server->interrupt_drain();
        return;
      }
    }
  });
  const bool complete = server->wait_drained(std::chrono::steady_clock::now() + drain_timeout);
  drained.store(true);
  watcher.join();

  const auto cut = server->active_requests();
  const auto open = server->open_connections();
  // The server owns the access log, whose writer reports through spdlog: release it (its last
  // lines written, its file closed) before spdlog::shutdown().
  server.reset();
  if (complete) {
    spdlog::info("drained: every accepted request was answered; exiting");
    spdlog::shutdown();
    return 0;
  }
  spdlog::warn("drain ended by {}: {} requests cut, {} connections closed",
               second_signal.load() ? "a second signal" : "drain_timeout", cut, open);
  spdlog::shutdown();
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"levee: a request-coalescing and batching reverse proxy"};
  app.set_version_flag("--version", std::string("levee ") + LEVEE_VERSION);
  app.require_subcommand(1);

  std::string serve_config;
  auto* serve_cmd = app.add_subcommand("serve", "Run the proxy");
  serve_cmd->add_option("-c,--config", serve_config, "Configuration file (TOML)")->required();
  levee::proxy::StartOptions start_options;
  serve_cmd->add_flag("--handover", start_options.handover,
                      "Share server.listen with a levee already listening there (binary "
                      "upgrade: start the new one with this, then SIGTERM the old one)");

  std::string check_config;
  auto* check_cmd = app.add_subcommand("check", "Validate a configuration file and exit");
  check_cmd->add_option("-c,--config", check_config, "Configuration file (TOML)")->required();

  CLI11_PARSE(app, argc, argv);
  if (*serve_cmd) return serve(serve_config, start_options);
  if (*check_cmd) return check(check_config);
  return 2;
}
