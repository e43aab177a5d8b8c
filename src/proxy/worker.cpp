#include "proxy/worker.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <string>

#include "admin/metric_registry.hpp"
#include "admin/metrics.hpp"
#include "core/loop_lag_probe.hpp"
#include "layers/cache/redis_tier.hpp"
#include "layers/collapse/fleet/fleet_client.hpp"
#include "layers/metrics/phase_metrics.hpp"

namespace levee::proxy {

namespace asio = boost::asio;

Worker::UpstreamLink::UpstreamLink(const asio::any_io_executor& executor,
                                   config::UpstreamConfig settings,
                                   std::vector<asio::ip::tcp::endpoint> addresses,
                                   upstream::TransportPtr transport)
    : config(std::move(settings)),
      endpoints(std::move(addresses)),
      pool(executor, config, endpoints, transport),
      h2(executor, config, endpoints, transport),
      client(pool, config.protocol == config::UpstreamProtocol::http1 ? nullptr : &h2) {}

Worker::Worker(unsigned index, const WorkerEnv& env,
               std::shared_ptr<const runtime::Snapshot> snapshot)
    // Only this worker's thread does I/O on this io_context's sockets, so the reactor may skip
    // its per-descriptor locking; posting from other threads (drain, start, apply) stays safe.
    : index_(index),
      env_(env),
      io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO),
      work_(asio::make_work_guard(io_)) {
  // The thread has not started: building here is building on it.
  router_.install(build(std::move(snapshot)));
}

Worker::~Worker() {
  stop();
  join();
  for (auto& [setup, tier] : redis_tiers_) tier->shutdown();
  for (auto& [setup, fleet] : fleet_clients_) fleet->shutdown();
  // Sockets must go before the io_context that serves them; the pools themselves outlive it.
  for (auto& link : links_) {
    link->pool.close_idle();
    link->h2.close_all();
  }
}

Worker::UpstreamLink& Worker::link_for(const config::UpstreamConfig& upstream,
                                       const std::vector<asio::ip::tcp::endpoint>& at,
                                       const upstream::TransportPtr& transport) {
  for (auto& link : links_) {
    if (link->config == upstream && link->endpoints == at) return *link;
  }
  links_.push_back(std::make_unique<UpstreamLink>(io_.get_executor(), upstream, at, transport));
  return *links_.back();
}

layers::cache::SharedTier* Worker::tier_for(const RedisTierSetup& setup) {
  if (!setup.enabled) return nullptr;
  for (auto& [made_for, tier] : redis_tiers_) {
    if (made_for.same_connection(setup)) return tier.get();
  }
  redis_tiers_.emplace_back(setup, std::make_shared<layers::cache::RedisTier>(
                                       io_.get_executor(), setup.settings, setup.errors));
  return redis_tiers_.back().second.get();
}

std::shared_ptr<layers::collapse::fleet::FleetClient> Worker::fleet_for(const FleetSetup& setup) {
  if (!setup.enabled) return nullptr;
  for (auto& [made_for, fleet] : fleet_clients_) {
    if (made_for.same_connection(setup)) return fleet;
  }
  fleet_clients_.emplace_back(setup, std::make_shared<layers::collapse::fleet::FleetClient>(
                                         io_.get_executor(), setup.settings));
  return fleet_clients_.back().second;
}

std::shared_ptr<runtime::WorkerRoutes> Worker::build(
    std::shared_ptr<const runtime::Snapshot> snapshot) {
  layers::cache::SharedTier* tier = tier_for(snapshot->redis);
  const auto fleet = fleet_for(snapshot->fleet);
  std::vector<router::Route> routes;
  routes.reserve(snapshot->routes.size());
  for (const auto& route : snapshot->routes) {
    const config::RouteConfig& config = route->config();
    const config::UpstreamConfig* upstream = snapshot->config->find_upstream(config.upstream);
    UpstreamLink& link = link_for(*upstream, snapshot->endpoints.at(config.upstream),
                                  snapshot->guards.at(config.upstream).transport);
    runtime::WorkerLinks links{&link.client, config.cache.enabled ? tier : nullptr, index_,
                               config.collapse.fleet ? fleet : nullptr};
    routes.push_back(router::Route{config.name, route->chain(links)});
  }
  auto table = snapshot->table;
  return std::make_shared<runtime::WorkerRoutes>(runtime::WorkerRoutes{
      std::move(snapshot), router::Router(std::move(table), std::move(routes))});
}

void Worker::retire_unused_links() {
  const runtime::Snapshot& installed = *router_.current()->snapshot;
  for (auto& link : links_) {
    const config::UpstreamConfig* upstream = installed.config->find_upstream(link->config.name);
    const auto at = installed.endpoints.find(link->config.name);
    const bool used = upstream != nullptr && *upstream == link->config &&
                      at != installed.endpoints.end() && at->second == link->endpoints;
    // An unused HTTP/2 pool's connections close by themselves once idle for idle_timeout;
    // closing them here would fail the old configuration's streams still in flight.
    if (!used) link->pool.close_idle();
  }
}

asio::ip::tcp::endpoint Worker::bind(const asio::ip::tcp::endpoint& endpoint) {
  server::SessionContext context{
      env_.server,          router_,         env_.gate, sessions_,
      &env_.server_metrics, env_.access_log, true,      env_.server.http2.enabled};
  listener_ = std::make_shared<server::Listener>(io_, endpoint, context, true, env_.tls);
  return listener_->local_endpoint();
}

int Worker::listener_handle() const { return listener_->native_handle(); }

void Worker::listen() { listener_->listen(); }

void Worker::start() {
  thread_ = std::thread([this] {
    admin::set_metrics_shard(index_ + 1);
    try {
      io_.run();
    } catch (const std::exception& e) {
      // A throw out of a handler is a bug; make it loud rather than a silent dead worker.
      spdlog::critical("worker {} stopped by an exception: {}", index_, e.what());
      std::abort();
    }
  });
  admin::Histogram* lag = env_.server_metrics.loop_lag != nullptr
                              ? &env_.server_metrics.loop_lag->with({std::to_string(index_)})
                              : nullptr;
  asio::post(io_, [this, lag] {
    sessions_.start_sweeping(io_.get_executor());
    if (lag != nullptr) {
      core::start_loop_lag_probe(io_.get_executor(),
                                 [lag](core::Clock::duration d) { layers::observe_phase(lag, d); });
    }
    listener_->start();
  });
}

std::future<void> Worker::apply(std::shared_ptr<const runtime::Snapshot> snapshot) {
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  asio::post(io_, [this, done, snapshot = std::move(snapshot)]() mutable {
    // The old routes stay alive in the requests that hold them; this drops only our hold.
    router_.install(build(std::move(snapshot)));
    retire_unused_links();
    done->set_value();
  });
  return future;
}

std::future<void> Worker::begin_drain() {
  // A promise rather than std::latch: libstdc++ 12's atomic wait, which latch uses, can miss
  // a wake-up (seen as a hang under TSan).
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  asio::post(io_, [this, done] {
    listener_->stop();
    sessions_.drain_all();
    done->set_value();
  });
  return future;
}

std::future<void> Worker::release_fleet_leases() {
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  // fleet_clients_ belongs to the worker's thread (apply() adds to it there).
  asio::post(io_, [this, done] {
    std::vector<std::shared_ptr<layers::collapse::fleet::FleetClient>> clients;
    clients.reserve(fleet_clients_.size());
    for (auto& [setup, fleet] : fleet_clients_) clients.push_back(fleet);
    asio::co_spawn(
        io_,
        [](std::vector<std::shared_ptr<layers::collapse::fleet::FleetClient>> clients)
            -> asio::awaitable<void> {
          for (const auto& client : clients) co_await client->release_all();
        }(std::move(clients)),
        [done](const std::exception_ptr&) { done->set_value(); });
  });
  return future;
}

void Worker::stop() {
  work_.reset();
  io_.stop();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace levee::proxy
