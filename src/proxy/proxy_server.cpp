#include "proxy/proxy_server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <cmath>
#include <future>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include "admin/admin_handler.hpp"
#include "admin/metric_registry.hpp"
#include "admin/metrics.hpp"
#include "config/preflight.hpp"
#include "config/resolve.hpp"
#include "policy/model_watcher.hpp"
#include "proxy/config_reload.hpp"
#include "proxy/flush_policy_setup.hpp"
#include "proxy/proxy_metrics.hpp"
#include "proxy/telemetry_metrics.hpp"
#include "proxy/tls_setup.hpp"
#include "proxy/worker.hpp"
#include "runtime/snapshot.hpp"
#include "server/access_log.hpp"
#include "server/connection_gate.hpp"
#include "server/http_session.hpp"
#include "server/listener.hpp"
#include "server/listening_sockets.hpp"
#include "server/tls_context_slot.hpp"
#include "telemetry/telemetry.hpp"
#include "telemetry/telemetry_setup.hpp"

namespace levee::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// The preflight (config/preflight.hpp) resolved these already; a name whose answer changed
// since is still a start-up failure for the operator.
std::vector<tcp::endpoint> resolve(const config::Endpoint& endpoint, std::string_view what) {
  auto resolved = config::resolve(endpoint);
  if (!resolved) {
    throw std::runtime_error(
        fmt::format("cannot resolve {} \"{}\": {}", what, endpoint.to_string(), resolved.error()));
  }
  return std::move(resolved).value();
}

}  // namespace

// The admin listener on its own thread, so that /metrics and /readyz answer even while every
// worker is saturated.
class AdminThread {
 public:
  AdminThread(const config::Config& config, const tcp::endpoint& endpoint,
              admin::AdminHandler& handler, const server::TlsContextSlot& tls)
      : gate_(std::numeric_limits<std::uint32_t>::max()),
        work_(asio::make_work_guard(io_)),
        listener_(std::make_shared<server::Listener>(
            io_, endpoint,
            server::SessionContext{config.server, handler, gate_, sessions_, nullptr, nullptr,
                                   false},
            /*share_port=*/false, &tls)) {
    listener_->listen();
  }
  ~AdminThread() {
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  [[nodiscard]] tcp::endpoint local_endpoint() const { return listener_->local_endpoint(); }
  void start() {
    thread_ = std::thread([this] { io_.run(); });
    asio::post(io_, [this] {
      sessions_.start_sweeping(io_.get_executor());
      listener_->start();
    });
  }

 private:
  // Outlive io_, whose destruction destroys the frames of admin sessions still open.
  server::ConnectionGate gate_;
  server::SessionSet sessions_;
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::shared_ptr<server::Listener> listener_;
  std::thread thread_;
};

namespace {
// How often the learned routes' model files are checked for a new version.
constexpr std::chrono::milliseconds k_model_poll{1000};

// The first load happens before any request; a model that does not load leaves its route on
// the adaptive fallback (logged), and the watcher keeps trying.
std::unique_ptr<policy::ModelWatcher> watch_models(const runtime::Snapshot& snapshot) {
  for (const auto& model : snapshot.models) (void)model->refresh(true);
  return std::make_unique<policy::ModelWatcher>(snapshot.models, k_model_poll);
}
}  // namespace

ProxyServer::ProxyServer(config::Config config, StartOptions options)
    : config_(std::move(config)),
      started_at_(std::chrono::steady_clock::now()),
      registry_(std::make_unique<admin::Registry>()),
      metrics_(std::make_unique<ProxyMetrics>(*registry_)),
      // Before the routes, whose reporters record into it; a sink that cannot be created stops
      // start-up here, like an address that cannot be bound.
      telemetry_(telemetry::make_flush_telemetry(config_.telemetry)),
      gate_(std::make_unique<server::ConnectionGate>(config_.server.max_connections)) {
  registry_->gauge_callback("levee_build_info", "levee's version; always 1.",
                            {{"version", LEVEE_VERSION}}, [] { return 1.0; });
  registry_->gauge_callback("levee_ready", "1 while accepting traffic, 0 while draining.", {},
                            [this] { return ready_.load() ? 1.0 : 0.0; });
  register_telemetry_metrics(*registry_, *telemetry_, config::to_string(config_.telemetry.sink));
  registry_->gauge_callback("levee_active_requests", "Requests being handled now.", {},
                            [this] { return static_cast<double>(gate_->active_requests()); });
  // Registered whether or not the log is on, so that dashboards find the series.
  for (const auto& [reason, field] :
       {std::pair{"queue_full", &server::AccessLogCounts::dropped_queue_full},
        std::pair{"write_error", &server::AccessLogCounts::dropped_write_error}}) {
    registry_->counter_callback(
        "levee_access_log_dropped_total",
        "Access-log lines lost: queue_full (the disk fell behind the bounded queue), "
        "write_error (a write to the file failed).",
        {{"reason", reason}}, [this, field] {
          return access_log_ ? static_cast<double>(access_log_->counts().*field) : 0.0;
        });
  }
  registry_->counter_callback(
      "levee_access_log_write_errors_total", "Failed writes to the access log file.", {}, [this] {
        return access_log_ ? static_cast<double>(access_log_->counts().write_errors) : 0.0;
      });
  registry_->gauge_callback("levee_uptime_seconds", "Seconds since start.", {}, [this] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count();
  });
  policies_ = std::make_unique<FlushPolicySetup>(*registry_, telemetry_.get());
  services_ = std::make_unique<runtime::RuntimeServices>(
      runtime::RuntimeServices{*registry_, *metrics_, *policies_});
  auto& reloads = registry_->counter_family(
      "levee_config_reloads_total",
      "Configuration reloads (SIGHUP) by result: ok (every worker switched to the new file), "
      "failed (the file was refused; the running configuration stayed).",
      {"result"});
  reloads_ok_metric_ = &reloads.with({"ok"});
  reloads_failed_metric_ = &reloads.with({"failed"});
  // Building the routes may throw (an address that no longer resolves): a start-up failure.
  auto snapshot =
      runtime::build_snapshot(std::make_shared<const config::Config>(config_), *services_, nullptr);
  model_watcher_ = watch_models(*snapshot);
  install(snapshot);

  if (!config_.log.access_log.empty()) {
    access_log_ = std::make_unique<server::AccessLog>(config_.log.access_log);
  }

  // A certificate that does not load stops start-up, as an address that cannot be bound.
  auto tls = build_listener_tls(config_);
  if (!tls) {
    std::string message;
    for (const auto& error : tls.error()) message += (message.empty() ? "" : "\n") + error;
    throw std::runtime_error(message);
  }
  tls_ = std::make_unique<server::TlsContextSlot>(tls.value().proxy);
  admin_tls_ = std::make_unique<server::TlsContextSlot>(tls.value().admin);

  const WorkerEnv env{config_.server, metrics_->server(), *gate_, access_log_.get(), tls_.get()};
  listen_ =
      listen_on(resolve(config_.server.listen, "listen address").front(), env, options.handover);

  auto handler =
      std::make_unique<admin::AdminHandler>(*registry_, ready_, [this] { return stats_json(); });
  tcp::endpoint admin_listen = resolve(config_.server.admin_listen, "admin address").front();
  try {
    admin_handler_ = std::move(handler);
    admin_thread_ =
        std::make_unique<AdminThread>(config_, admin_listen, *admin_handler_, *admin_tls_);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(fmt::format("cannot listen on {} (admin): {}",
                                         config_.server.admin_listen.to_string(),
                                         e.code().message()));
  }
  admin_ = admin_thread_->local_endpoint();
}

tcp::endpoint ProxyServer::listen_on(tcp::endpoint listen, const WorkerEnv& env, bool handover) {
  const auto listen_error = [this](const std::string& message) {
    return std::runtime_error(
        config::error_at(
            config_, "server.listen",
            fmt::format("cannot listen on {}: {}", config_.server.listen.to_string(), message))
            .to_string());
  };
  std::vector<std::uint64_t> own_sockets;
  for (unsigned i = 0; i < config_.server.workers; ++i) {
    auto worker = std::make_unique<Worker>(i, env, snapshot());
    try {
      // Workers after the first bind the port the first one got, so port 0 means one
      // ephemeral port shared through SO_REUSEPORT.
      listen = worker->bind(listen);
    } catch (const boost::system::system_error& e) {
      throw listen_error(e.code().message());
    }
    own_sockets.push_back(server::socket_inode(worker->listener_handle()));
    workers_.push_back(std::move(worker));
  }
  // SO_REUSEPORT would let this process join another's listeners on the same port and take
  // part of its traffic. Look before listening (a bound socket queues nothing, so the other
  // process loses no connection), and again after, for one that started at the same moment.
  // With --handover the other process is expected, and said.
  const auto look_for_others = [&] {
    const auto others = server::other_listeners(listen, own_sockets);
    for (const auto& other : others) {
      const std::string owner = server::describe_owner(other.inode);
      if (handover) {
        spdlog::warn("--handover: sharing {}:{} with {} until it stops",
                     other.endpoint.address().to_string(), other.endpoint.port(), owner);
        continue;
      }
      throw listen_error(fmt::format(
          "Address already in use by {}{}; only levee's own workers share a listener (for a "
          "binary upgrade, start the new levee with `serve --handover`)",
          owner,
          other.endpoint == listen ? std::string()
                                   : fmt::format(" on {}:{}", other.endpoint.address().to_string(),
                                                 other.endpoint.port())));
    }
  };
  if (!handover) look_for_others();
  for (auto& worker : workers_) {
    try {
      worker->listen();
    } catch (const boost::system::system_error& e) {
      throw listen_error(e.code().message());
    }
  }
  look_for_others();
  return listen;
}

ProxyServer::~ProxyServer() { stop(); }

void ProxyServer::start() {
  for (auto& worker : workers_) worker->start();
  admin_thread_->start();
  model_watcher_->start();
  ready_.store(true, std::memory_order_release);
}

void ProxyServer::begin_drain() {
  ready_.store(false, std::memory_order_release);
  gate_->begin_drain();
  // Parked window slots and open batches go upstream now (reason shutdown), so their members
  // are answered, and every later batch item goes at once; in every configuration a request
  // still holds, since those requests are answered too.
  for (const auto& snapshot : live_snapshots()) {
    for (const auto& route : snapshot->routes) route->drain();
  }
  std::vector<std::future<void>> closed;
  closed.reserve(workers_.size());
  for (auto& worker : workers_) closed.push_back(worker->begin_drain());
  for (auto& done : closed) done.wait();
}

bool ProxyServer::wait_drained(std::chrono::steady_clock::time_point deadline) {
  return gate_->wait_until_empty(deadline);
}

void ProxyServer::interrupt_drain() { gate_->interrupt(); }

void ProxyServer::reload_models() { model_watcher_->reload_all(); }

std::shared_ptr<const runtime::Snapshot> ProxyServer::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

std::uint64_t ProxyServer::config_generation() const { return snapshot()->generation; }

void ProxyServer::install(std::shared_ptr<const runtime::Snapshot> snapshot) {
  std::erase_if(built_, [](const auto& weak) { return weak.expired(); });
  built_.push_back(snapshot);
  std::lock_guard lock(snapshot_mutex_);
  snapshot_ = std::move(snapshot);
}

std::vector<std::shared_ptr<const runtime::Snapshot>> ProxyServer::live_snapshots() {
  std::vector<std::shared_ptr<const runtime::Snapshot>> live;
  for (const auto& weak : built_) {
    if (auto held = weak.lock()) live.push_back(std::move(held));
  }
  return live;
}

ReloadOutcome ProxyServer::reload_config() {
  ReloadOutcome outcome;
  outcome.attempt = ++reload_attempts_;
  const auto running = snapshot();
  ReloadReading reading = read_for_reload(config_.source, *running->config);
  std::shared_ptr<const runtime::Snapshot> next;
  // The certificates are read before anything switches: a file that no longer loads (replaced
  // since the check above read it) refuses the reload and the running contexts stay.
  std::optional<ListenerTls> tls;
  if (reading.config) {
    auto built = build_listener_tls(*reading.config);
    if (built) {
      tls = std::move(built).value();
    } else {
      reading.errors = built.error();
      reading.config = nullptr;
    }
  }
  if (reading.config) {
    try {
      next = runtime::build_snapshot(reading.config, *services_, running.get());
    } catch (const std::exception& e) {
      reading.errors.push_back(fmt::format("{}: {}", config_.source, e.what()));
      // Models made for the routes that were not built are nobody's.
      (void)policies_->take_models();
    }
  }
  outcome.errors = std::move(reading.errors);
  if (!next) {
    for (const auto& error : outcome.errors) spdlog::error("reload refused: {}", error);
    spdlog::error("configuration reload failed ({} errors): still running generation {}",
                  outcome.errors.size(), running->generation);
    ++reloads_failed_;
    reloads_failed_metric_->inc();
    reload_models();
    outcome.generation = running->generation;
    return outcome;
  }
  outcome.restart_needed = std::move(reading.restart_needed);
  for (const auto& warning : outcome.restart_needed) spdlog::warn("reload: {}", warning);
  // The new models are loaded before any request uses them, and the running ones read again.
  auto watcher = watch_models(*next);
  std::vector<std::future<void>> applied;
  applied.reserve(workers_.size());
  for (auto& worker : workers_) applied.push_back(worker->apply(next));
  for (auto& done : applied) done.wait();
  install(next);
  tls_->replace(std::move(tls->proxy));
  admin_tls_->replace(std::move(tls->admin));
  model_watcher_->stop();
  model_watcher_ = std::move(watcher);
  model_watcher_->start();
  ++reloads_ok_;
  reloads_ok_metric_->inc();
  spdlog::info("configuration reloaded from {}: generation {}, {} routes", config_.source,
               next->generation, next->routes.size());
  outcome.ok = true;
  outcome.generation = next->generation;
  return outcome;
}

void ProxyServer::reopen_logs() {
  if (access_log_) access_log_->reopen();
}

std::int64_t ProxyServer::active_requests() const { return gate_->active_requests(); }

std::uint32_t ProxyServer::open_connections() const { return gate_->open_connections(); }

void ProxyServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  // Leases finished in the last few ms are released before the workers stop; bounded, since
  // a Redis that does not answer must not hold up the exit.
  std::vector<std::future<void>> released;
  released.reserve(workers_.size());
  for (auto& worker : workers_) released.push_back(worker->release_fleet_leases());
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (auto& done : released) (void)done.wait_until(give_up);
  for (auto& worker : workers_) worker->stop();
  for (auto& worker : workers_) worker->join();
  model_watcher_->stop();
  // Every flush has been recorded: what is queued is written out before the sink closes.
  telemetry_->stop();
  // No executor runs any more: frames destroyed with the workers must not post to another
  // worker's io_context, which may already be gone. Every configuration a frame still holds
  // is held here too until the workers are gone.
  const auto live = live_snapshots();
  for (const auto& snapshot : live) {
    for (const auto& route : snapshot->routes) route->close();
  }
  workers_.clear();
  admin_thread_.reset();
  // Every session is gone: the last lines are written and the file closed.
  if (access_log_) access_log_->stop();
}

std::string ProxyServer::stats_json() const {
  const auto running = snapshot();
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(
      it,
      "{{\"version\":\"{}\",\"uptime_seconds\":{:.3f},\"ready\":{},\"workers\":{},"
      "\"open_connections\":{},\"active_requests\":{},\"config_generation\":{},"
      "\"config_reloads\":{{\"ok\":{},\"failed\":{}}},\"telemetry\":{{\"sink\":\"{}\","
      "\"recorded\":{},\"written\":{},\"dropped\":{},\"sink_errors\":{}}},\"routes\":[",
      LEVEE_VERSION,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count(),
      ready_.load() ? "true" : "false", config_.server.workers, gate_->open_connections(),
      gate_->active_requests(), running->generation, reloads_ok_.load(), reloads_failed_.load(),
      config::to_string(config_.telemetry.sink), telemetry_->recorded(), telemetry_->written(),
      telemetry_->dropped(), telemetry_->sink_errors());
  const char* separator = "";
  for (const auto& route : running->routes) {
    out += separator;
    route->append_stats(out);
    separator = ",";
  }
  out += "],\"upstreams\":";
  running->append_upstream_stats(out);
  out += '}';
  return out;
}

}  // namespace levee::proxy
