#pragma once
// The whole proxy process minus main(): workers, the admin listener, metrics, the access log,
// and the shutdown sequence of DESIGN.md "Shutdown".
//
// Threading: the public functions are called from one controlling thread (main). start()
// creates the worker threads and the admin thread; they inherit the caller's signal mask,
// so main blocks SIGINT/SIGTERM before start() and waits for them itself.

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "layers/cache/cache_service.hpp"
#include "proxy/cache_setup.hpp"
#include "proxy/guards.hpp"

namespace levee::admin {
class Registry;
class AdminHandler;
}  // namespace levee::admin
namespace levee::layers {
struct RouteMetrics;
}  // namespace levee::layers
namespace levee::proxy {
struct CollapseShared;
struct BatchShared;
}  // namespace levee::proxy
namespace levee::policy {
class ModelWatcher;
}  // namespace levee::policy
namespace levee::telemetry {
class FlushTelemetry;
}  // namespace levee::telemetry
namespace levee::server {
class AccessLog;
class ConnectionGate;
class Listener;
class SessionSet;
}  // namespace levee::server

namespace levee::proxy {

class FlushPolicySetup;
class ProxyMetrics;
struct WorkerShared;
class Worker;
class AdminThread;

// How this process starts, beside the configuration.
struct StartOptions {
  // Share server.listen with a levee that already listens there (a binary upgrade: start the
  // new one with this, then SIGTERM the old one, which drains). Without it, a listener of
  // another process on that address refuses the start (address in use).
  bool handover = false;
};

class ProxyServer {
 public:
  // Resolves upstreams, opens the access log, builds every worker's pipelines and binds the
  // listeners. Throws std::runtime_error with a message for the operator on failure.
  explicit ProxyServer(config::Config config, StartOptions options = {});
  ~ProxyServer();
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  void start();

  // Stop accepting, report unready, close idle connections, let busy ones finish. Returns
  // once every worker has closed its listener.
  void begin_drain();
  // Waits until every client connection is closed, the deadline passes or interrupt_drain()
  // is called. True when the drain completed.
  bool wait_drained(std::chrono::steady_clock::time_point deadline);
  void interrupt_drain();
  // SIGHUP: every learned route's model file is read again now (on the watcher's thread).
  void reload_models();
  // SIGUSR1: the access log is reopened at its path (after logrotate moved the file away).
  void reopen_logs();
  // Requests still being handled (the ones a forced stop cuts).
  [[nodiscard]] std::int64_t active_requests() const;
  [[nodiscard]] std::uint32_t open_connections() const;
  void stop();

  [[nodiscard]] boost::asio::ip::tcp::endpoint listen_endpoint() const { return listen_; }
  [[nodiscard]] boost::asio::ip::tcp::endpoint admin_endpoint() const { return admin_; }
  [[nodiscard]] const config::Config& config() const noexcept { return config_; }
  // Where flushes record their events; never null (a `none` sink records nothing). Valid until
  // the ProxyServer is destroyed; stop() drains it after every worker has stopped.
  [[nodiscard]] telemetry::FlushTelemetry* flush_telemetry() const noexcept {
    return telemetry_.get();
  }

 private:
  // Creates the workers and binds their listeners on `listen`; refuses (address in use) a
  // listener of another process on it unless `handover`; then listens. Returns the bound
  // endpoint (the real port for port 0).
  [[nodiscard]] boost::asio::ip::tcp::endpoint listen_on(boost::asio::ip::tcp::endpoint listen,
                                                         const WorkerShared& shared, bool handover);
  [[nodiscard]] std::string stats_json() const;
  // A route's shed counts, admission permits and cache counters, for stats_json().
  void append_resilience_stats(std::string& out, std::size_t route) const;

  config::Config config_;
  std::chrono::steady_clock::time_point started_at_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<admin::Registry> registry_;
  std::unique_ptr<ProxyMetrics> metrics_;
  // Flush telemetry; declared before the routes' shared state, whose reporters point to it.
  std::unique_ptr<telemetry::FlushTelemetry> telemetry_;
  std::unique_ptr<FlushPolicySetup> policies_;
  std::unique_ptr<policy::ModelWatcher> model_watcher_;
  std::vector<const layers::RouteMetrics*> route_metrics_;
  std::vector<CollapseShared> collapse_;           // config.routes order; outlives the workers
  std::vector<BatchShared> batch_;                 // config.routes order; outlives the workers
  std::vector<RouteLimits> limits_;                // config.routes order; outlives the workers
  UpstreamGuardMap guards_;                        // outlives the workers
  std::vector<layers::cache::CacheShared> cache_;  // config.routes order; outlives the workers
  RedisTierSetup redis_;
  std::unique_ptr<server::AccessLog> access_log_;
  std::unique_ptr<server::ConnectionGate> gate_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<admin::AdminHandler> admin_handler_;
  std::unique_ptr<AdminThread> admin_thread_;
  boost::asio::ip::tcp::endpoint listen_;
  boost::asio::ip::tcp::endpoint admin_;
  bool stopped_ = false;
};

}  // namespace levee::proxy
