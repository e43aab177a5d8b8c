#include "proxy/proxy_server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <cmath>
#include <future>
#include <stdexcept>
#include <thread>
#include <utility>

#include "admin/admin_handler.hpp"
#include "admin/metric_registry.hpp"
#include "admin/metrics.hpp"
#include "config/preflight.hpp"
#include "config/resolve.hpp"
#include "policy/model_watcher.hpp"
#include "proxy/cache_setup.hpp"
#include "proxy/flush_policy_setup.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/proxy_metrics.hpp"
#include "proxy/telemetry_metrics.hpp"
#include "proxy/worker.hpp"
#include "router/route_table.hpp"
#include "server/access_log.hpp"
#include "server/connection_gate.hpp"
#include "server/http_session.hpp"
#include "server/listener.hpp"
#include "server/listening_sockets.hpp"
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
              admin::AdminHandler& handler)
      : gate_(std::numeric_limits<std::uint32_t>::max()),
        work_(asio::make_work_guard(io_)),
        listener_(std::make_shared<server::Listener>(
            io_, endpoint,
            server::SessionContext{config.server, handler, gate_, sessions_, nullptr, nullptr,
                                   false},
            /*share_port=*/false)) {
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
// One family for both modes: a gauge's help must be the same for each child.
// How often the learned routes' model files are checked for a new version.
constexpr std::chrono::milliseconds k_model_poll{1000};

constexpr std::string_view k_active_slots_help =
    "Collapse slots (upstream calls shared by waiting requests) open now; on batch routes, "
    "batches open, queued or in flight.";
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
  guards_ = make_upstream_guards(config_, *registry_);
  cache_ = make_cache_shared(config_, *registry_);
  redis_ = make_redis_tier_setup(config_, *registry_);
  const auto max_response_bytes = [this](const config::RouteConfig& route) -> std::size_t {
    const config::UpstreamConfig* upstream = config_.find_upstream(route.upstream);
    return upstream != nullptr ? upstream->max_response_bytes
                               : config::UpstreamConfig{}.max_response_bytes;
  };
  for (const auto& route : config_.routes) {
    route_metrics_.push_back(&metrics_->add_route(route.name));
    limits_.push_back(make_route_limits(route, *route_metrics_.back(), *registry_));
    const bool collapses = route.mode == config::RouteMode::collapse && route.collapse.enabled;
    const bool window = collapses && route.collapse.strategy == config::CollapseStrategy::window;
    collapse_.push_back(make_collapse_shared(
        route,
        collapses ? metrics_->add_collapse_route(route.name) : layers::collapse::CollapseMetrics{},
        // An inflight slot goes at once: its telemetry says `immediate`, like its flush reason.
        collapses ? policies_->make(route.name,
                                    window ? route.collapse.policy : config::FlushPolicy::immediate,
                                    route.collapse.tuning)
                  : RoutePolicy{},
        max_response_bytes(route)));
    if (auto table = collapse_.back().table) {
      registry_->gauge_callback("levee_active_batch_slots", k_active_slots_help,
                                {{"route", route.name}},
                                [table] { return static_cast<double>(table->slots()); });
      registry_->gauge_callback(
          "levee_collapse_waiters", "Requests waiting for another request's upstream call now.",
          {{"route", route.name}}, [table] { return static_cast<double>(table->waiters()); });
    }
  }

  for (const auto& route : config_.routes) {
    const bool batches = route.mode == config::RouteMode::batch;
    if (!batches) {
      batch_.emplace_back();
      continue;
    }
    batch_.push_back(
        make_batch_shared(route, metrics_->add_batch_route(route.name),
                          policies_->make(route.name, route.batch.policy, route.batch.tuning),
                          max_response_bytes(route)));
    if (auto batcher = batch_.back().batcher) {
      const std::string& name = route.name;
      registry_->gauge_callback(
          "levee_active_batch_slots", k_active_slots_help, {{"route", name}}, [batcher] {
            const BatchStats stats = batcher->stats();
            return static_cast<double>(stats.open_batches + stats.queued_batches +
                                       stats.inflight_batches);
          });
      registry_->gauge_callback(
          "levee_batch_queued_batches", "Formed batches waiting for a free call slot now.",
          {{"route", name}},
          [batcher] { return static_cast<double>(batcher->stats().queued_batches); });
      registry_->gauge_callback(
          "levee_batch_parked_items",
          "Items admitted and not yet answered (open, queued and in flight).", {{"route", name}},
          [batcher] { return static_cast<double>(batcher->stats().pending_items); });
    }
  }

  // The first load happens before any request; a model that does not load leaves its route
  // on the adaptive fallback (logged), and the watcher keeps trying.
  for (const auto& model : policies_->models()) (void)model->refresh(true);
  model_watcher_ = std::make_unique<policy::ModelWatcher>(policies_->models(), k_model_poll);

  UpstreamEndpoints endpoints;
  for (const auto& upstream : config_.upstreams) {
    endpoints.emplace(upstream.name, resolve(upstream.address, "upstream address"));
  }
  if (!config_.log.access_log.empty()) {
    access_log_ = std::make_unique<server::AccessLog>(config_.log.access_log);
  }

  auto table = std::make_shared<const router::RouteTable>(config_.routes);
  WorkerShared shared{
      config_, table,  endpoints, route_metrics_,     collapse_, batch_,           limits_,
      guards_, cache_, redis_,    metrics_->server(), *gate_,    access_log_.get()};
  listen_ =
      listen_on(resolve(config_.server.listen, "listen address").front(), shared, options.handover);

  auto handler =
      std::make_unique<admin::AdminHandler>(*registry_, ready_, [this] { return stats_json(); });
  tcp::endpoint admin_listen = resolve(config_.server.admin_listen, "admin address").front();
  try {
    admin_handler_ = std::move(handler);
    admin_thread_ = std::make_unique<AdminThread>(config_, admin_listen, *admin_handler_);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(fmt::format("cannot listen on {} (admin): {}",
                                         config_.server.admin_listen.to_string(),
                                         e.code().message()));
  }
  admin_ = admin_thread_->local_endpoint();
}

tcp::endpoint ProxyServer::listen_on(tcp::endpoint listen, const WorkerShared& shared,
                                     bool handover) {
  const auto listen_error = [this](const std::string& message) {
    return std::runtime_error(
        config::error_at(
            config_, "server.listen",
            fmt::format("cannot listen on {}: {}", config_.server.listen.to_string(), message))
            .to_string());
  };
  std::vector<std::uint64_t> own_sockets;
  for (unsigned i = 0; i < config_.server.workers; ++i) {
    auto worker = std::make_unique<Worker>(i, shared);
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
  // Parked window slots go upstream now (reason shutdown), so their members are answered.
  for (const CollapseShared& collapse : collapse_) {
    if (collapse.table) collapse.table->flush_all();
  }
  // Open batches go now (reason shutdown), and every later item at once.
  for (const BatchShared& batch : batch_) {
    if (batch.batcher) batch.batcher->shutdown();
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

void ProxyServer::reopen_logs() {
  if (access_log_) access_log_->reopen();
}

std::int64_t ProxyServer::active_requests() const { return gate_->active_requests(); }

std::uint32_t ProxyServer::open_connections() const { return gate_->open_connections(); }

void ProxyServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& worker : workers_) worker->stop();
  for (auto& worker : workers_) worker->join();
  model_watcher_->stop();
  // Every flush has been recorded: what is queued is written out before the sink closes.
  telemetry_->stop();
  // No executor runs any more: frames destroyed with the workers must not post to another
  // worker's io_context, which may already be gone.
  for (const BatchShared& batch : batch_) {
    if (batch.batcher) batch.batcher->close();
  }
  workers_.clear();
  admin_thread_.reset();
  // Every session is gone: the last lines are written and the file closed.
  if (access_log_) access_log_->stop();
}

std::string ProxyServer::stats_json() const {
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(
      it,
      "{{\"version\":\"{}\",\"uptime_seconds\":{:.3f},\"ready\":{},\"workers\":{},"
      "\"open_connections\":{},\"active_requests\":{},\"telemetry\":{{\"sink\":\"{}\","
      "\"recorded\":{},\"written\":{},\"dropped\":{},\"sink_errors\":{}}},\"routes\":[",
      LEVEE_VERSION,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count(),
      ready_.load() ? "true" : "false", config_.server.workers, gate_->open_connections(),
      gate_->active_requests(), config::to_string(config_.telemetry.sink), telemetry_->recorded(),
      telemetry_->written(), telemetry_->dropped(), telemetry_->sink_errors());
  for (std::size_t i = 0; i < config_.routes.size(); ++i) {
    const auto& route = config_.routes[i];
    const auto& m = *route_metrics_[i];
    if (i > 0) out += ',';
    // Route names are restricted to [A-Za-z0-9_-] by the loader, so they need no escaping.
    fmt::format_to(it, "{{\"name\":\"{}\",\"mode\":\"{}\",\"upstream\":\"{}\",\"requests\":{{",
                   route.name, config::to_string(route.mode), route.upstream);
    std::uint64_t total = 0;
    for (std::size_t c = 0; c < m.requests_by_class.size(); ++c) {
      auto n = m.requests_by_class[c]->value();
      total += n;
      fmt::format_to(it, "\"{}xx\":{},", c + 1, n);
    }
    fmt::format_to(it, "\"total\":{}}},\"upstream_calls\":{},\"upstream_errors\":{{", total,
                   m.upstream_responses->value());
    for (std::size_t k = 0; k < m.upstream_errors.size(); ++k) {
      if (k > 0) out += ',';
      fmt::format_to(it, "\"{}\":{}",
                     upstream::to_string(static_cast<upstream::UpstreamErrorKind>(k)),
                     m.upstream_errors[k]->value());
    }
    auto latency = m.request_duration->snapshot();
    out += "},\"latency_ms\":{";
    const char* separator = "";
    for (auto [label, q] : {std::pair{"p50", 0.5}, std::pair{"p90", 0.9}, std::pair{"p99", 0.99}}) {
      const double ms = latency.quantile(q) * 1000;
      // An empty histogram has no quantiles; JSON has no NaN.
      if (std::isnan(ms)) {
        fmt::format_to(it, "{}\"{}\":null", separator, label);
      } else {
        fmt::format_to(it, "{}\"{}\":{:.3f}", separator, label, ms);
      }
      separator = ",";
    }
    out += '}';
    if (const CollapseShared& collapse = collapse_[i]; collapse.table) {
      // collapse_ratio: the share of collapsible requests answered by another one's call.
      const auto leaders = collapse.counters->leaders.load(std::memory_order_relaxed);
      const auto followers = collapse.counters->followers.load(std::memory_order_relaxed);
      const auto bypassed = collapse.counters->bypassed.load(std::memory_order_relaxed);
      const auto gone = collapse.counters->gone.load(std::memory_order_relaxed);
      const auto collapsible = leaders + followers + bypassed;
      fmt::format_to(
          it,
          ",\"collapse\":{{\"slots_in_flight\":{},\"waiters\":{},\"leaders\":{},"
          "\"followers\":{},\"bypassed\":{},\"client_gone\":{},\"collapse_ratio\":{:.4f}}}",
          collapse.table->slots(), collapse.table->waiters(), leaders, followers, bypassed, gone,
          collapsible == 0 ? 0.0
                           : static_cast<double>(followers) / static_cast<double>(collapsible));
    }
    if (const BatchShared& batch = batch_[i]; batch.batcher) {
      using layers::batch::CallOutcome;
      using layers::batch::ItemOutcomeKind;
      const BatchStats stats = batch.batcher->stats();
      const auto& c = *batch.counters;
      fmt::format_to(it,
                     ",\"batch\":{{\"open_batches\":{},\"open_items\":{},\"queued_batches\":{},"
                     "\"inflight_batches\":{},\"parked_items\":{},\"admission_waiters\":{},"
                     "\"calls\":{{\"ok\":{},\"call_failed\":{},\"demux_failed\":{}}},"
                     "\"items\":{{\"ok\":{},\"item_failed\":{},\"batch_failed\":{},\"shed\":{},"
                     "\"withdrawn\":{},\"invalid\":{}}}}}",
                     stats.open_batches, stats.open_items, stats.queued_batches,
                     stats.inflight_batches, stats.pending_items, stats.admission_waiters,
                     c.calls(CallOutcome::ok), c.calls(CallOutcome::call_failed),
                     c.calls(CallOutcome::demux_failed), c.items(ItemOutcomeKind::ok),
                     c.items(ItemOutcomeKind::item_failed), c.items(ItemOutcomeKind::batch_failed),
                     c.items(ItemOutcomeKind::shed), c.items(ItemOutcomeKind::withdrawn),
                     c.items(ItemOutcomeKind::invalid));
    }
    append_resilience_stats(out, i);
    out += '}';
  }
  out += "],\"upstreams\":[";
  const char* separator = "";
  for (const auto& [name, guards] : guards_) {
    // Upstream names are restricted to [A-Za-z0-9_-] by the loader, like route names.
    fmt::format_to(it, "{}{{\"name\":\"{}\",\"inflight\":{},\"waiting\":{},\"breaker\":", separator,
                   name, guards.inflight->in_use(), guards.inflight->waiting());
    if (guards.breaker) {
      fmt::format_to(it, "{{\"state\":\"{}\",\"opened\":{},\"rejected\":{}}}}}",
                     layers::breaker::to_string(guards.breaker->state()),
                     guards.breaker->opened_total(), guards.breaker->rejected_total());
    } else {
      out += "null}";
    }
    separator = ",";
  }
  out += "]}";
  return out;
}

void ProxyServer::append_resilience_stats(std::string& out, std::size_t route) const {
  auto it = std::back_inserter(out);
  const layers::RouteMetrics& m = *route_metrics_[route];
  using layers::limit::ShedReason;
  const auto shed = [&](ShedReason reason) {
    return m.shed[static_cast<std::size_t>(reason)]->value();
  };
  fmt::format_to(it,
                 ",\"shed\":{{\"max_pending\":{},\"upstream_inflight\":{},\"breaker_open\":{}}}",
                 shed(ShedReason::max_pending), shed(ShedReason::upstream_inflight),
                 shed(ShedReason::breaker_open));
  if (const auto& pool = limits_[route].admission) {
    fmt::format_to(it, ",\"pending\":{},\"admission_waiting\":{}", pool->in_use(), pool->waiting());
  }
  if (const layers::cache::CacheShared& cache = cache_[route]; cache.store) {
    const auto& c = *cache.counters;
    const auto lookups = [&](layers::cache::CacheResult result) {
      return c.lookups[static_cast<std::size_t>(result)]->value();
    };
    using layers::cache::CacheResult;
    fmt::format_to(it,
                   ",\"cache\":{{\"hit\":{},\"stale\":{},\"miss\":{},\"bypass\":{},"
                   "\"stored\":{},\"not_stored\":{},\"invalidated\":{}}}",
                   lookups(CacheResult::hit), lookups(CacheResult::stale),
                   lookups(CacheResult::miss), lookups(CacheResult::bypass), c.stored->value(),
                   c.not_stored->value(), c.invalidated->value());
  }
}

}  // namespace levee::proxy
