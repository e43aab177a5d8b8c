#pragma once
// The whole proxy process minus main(): workers, the admin listener, metrics, the access log,
// the configuration reload of issue 17.4 and the shutdown sequence of DESIGN.md "Shutdown".
//
// Threading: the public functions are called from one controlling thread (main). start()
// creates the worker threads and the admin thread; they inherit the caller's signal mask,
// so main blocks SIGINT/SIGTERM before start() and waits for them itself.

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "runtime/layer_factory.hpp"

namespace levee::admin {
class Registry;
class AdminHandler;
class Counter;
}  // namespace levee::admin
namespace levee::runtime {
struct Snapshot;
}  // namespace levee::runtime
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
class TlsContextSlot;
}  // namespace levee::server

namespace levee::proxy {

class FlushPolicySetup;
class ProxyMetrics;
struct WorkerEnv;
class Worker;
class AdminThread;

// How this process starts, beside the configuration.
struct StartOptions {
  // Share server.listen with a levee that already listens there (a binary upgrade: start the
  // new one with this, then SIGTERM the old one, which drains). Without it, a listener of
  // another process on that address refuses the start (address in use).
  bool handover = false;
};

// What a configuration reload did.
struct ReloadOutcome {
  std::uint64_t attempt = 0;  // 1 for the first reload asked for, one more for each after
  bool ok = false;
  std::uint64_t generation = 0;             // of the configuration running after it
  std::vector<std::string> errors;          // why it was refused: file:line:column: key: ...
  std::vector<std::string> restart_needed;  // changes it left for a restart
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
  // SIGHUP: the configuration file is read again and validated as `levee check` does. Valid:
  // every worker switches to it (requests already dispatched finish on the old one), state
  // carries over where it means the same thing, every learned model file is read again, and
  // the listeners' TLS certificates and keys are read again for new connections (open ones
  // keep theirs).
  // Invalid: the running configuration stays, every error is logged, and only the models are
  // read again. Counted in levee_config_reloads_total{result}. Returns once every worker
  // dispatches on the outcome.
  ReloadOutcome reload_config();
  // Every learned route's model file is read again now (on the watcher's thread); SIGHUP while
  // draining.
  void reload_models();
  // The running configuration's generation: 1 at start-up, one more per reload that took effect.
  [[nodiscard]] std::uint64_t config_generation() const;
  // SIGUSR1: the access log is reopened at its path (after logrotate moved the file away).
  void reopen_logs();
  // Requests still being handled (the ones a forced stop cuts).
  [[nodiscard]] std::int64_t active_requests() const;
  [[nodiscard]] std::uint32_t open_connections() const;
  void stop();

  [[nodiscard]] boost::asio::ip::tcp::endpoint listen_endpoint() const { return listen_; }
  [[nodiscard]] boost::asio::ip::tcp::endpoint admin_endpoint() const { return admin_; }
  // The configuration the process started with ([server], [log] and [telemetry] are its for
  // the process's life).
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
                                                         const WorkerEnv& env, bool handover);
  [[nodiscard]] std::string stats_json() const;
  [[nodiscard]] std::shared_ptr<const runtime::Snapshot> snapshot() const;
  // Every configuration still held by a request (the running one included), for the drain.
  [[nodiscard]] std::vector<std::shared_ptr<const runtime::Snapshot>> live_snapshots();
  void install(std::shared_ptr<const runtime::Snapshot> snapshot);

  config::Config config_;
  std::chrono::steady_clock::time_point started_at_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<admin::Registry> registry_;
  std::unique_ptr<ProxyMetrics> metrics_;
  // Flush telemetry; declared before the routes' shared state, whose reporters point to it.
  std::unique_ptr<telemetry::FlushTelemetry> telemetry_;
  std::unique_ptr<FlushPolicySetup> policies_;
  std::unique_ptr<policy::ModelWatcher> model_watcher_;
  std::unique_ptr<runtime::RuntimeServices> services_;
  // The running configuration; read by the admin thread, replaced by the controlling thread.
  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const runtime::Snapshot> snapshot_;
  // Every configuration built, while something holds it (controlling thread only).
  std::vector<std::weak_ptr<const runtime::Snapshot>> built_;
  std::uint64_t reload_attempts_ = 0;
  std::atomic<std::uint64_t> reloads_ok_{0};
  std::atomic<std::uint64_t> reloads_failed_{0};
  admin::Counter* reloads_ok_metric_ = nullptr;
  admin::Counter* reloads_failed_metric_ = nullptr;
  std::unique_ptr<server::AccessLog> access_log_;
  // The listeners' TLS contexts, replaced by a reload; before the workers, which use them.
  std::unique_ptr<server::TlsContextSlot> tls_;
  std::unique_ptr<server::TlsContextSlot> admin_tls_;
  std::unique_ptr<server::ConnectionGate> gate_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<admin::AdminHandler> admin_handler_;
  std::unique_ptr<AdminThread> admin_thread_;
  boost::asio::ip::tcp::endpoint listen_;
  boost::asio::ip::tcp::endpoint admin_;
  bool stopped_ = false;
};

}  // namespace levee::proxy
