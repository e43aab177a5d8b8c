#include "proxy/worker.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "admin/metrics.hpp"
#include "proxy/pipeline.hpp"

namespace levee::proxy {

namespace asio = boost::asio;

Worker::Worker(unsigned index, const WorkerShared& shared)
    // Only this worker's thread does I/O on this io_context's sockets, so the reactor may skip
    // its per-descriptor locking; posting from other threads (drain, start) stays safe.
    : index_(index),
      shared_(shared),
      io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO),
      work_(asio::make_work_guard(io_)) {
  for (const auto& upstream : shared.config.upstreams) {
    auto pool = std::make_unique<upstream::ConnectionPool>(io_.get_executor(), upstream,
                                                           shared.endpoints.at(upstream.name));
    clients_.emplace(upstream.name, std::make_unique<upstream::UpstreamClient>(*pool));
    pools_.push_back(std::move(pool));
  }
  if (shared.redis.enabled) {
    redis_tier_ = std::make_shared<layers::cache::RedisTier>(
        io_.get_executor(), shared.redis.settings, shared.redis.errors);
  }
  std::vector<router::Route> routes;
  routes.reserve(shared.config.routes.size());
  for (std::size_t i = 0; i < shared.config.routes.size(); ++i) {
    const auto& route = shared.config.routes[i];
    auto& client = *clients_.at(route.upstream);
    routes.push_back(router::Route{
        route.name, build_route_pipeline(RouteResources{
                        route, client, *shared.route_metrics[i], shared.collapse[i],
                        shared.batch[i], shared.limits[i], shared.guards.at(route.upstream),
                        shared.cache[i], redis_tier_.get(), index_})});
  }
  router_ = std::make_unique<router::Router>(shared.routes, std::move(routes));
}

Worker::~Worker() {
  stop();
  join();
  if (redis_tier_) redis_tier_->shutdown();
  // Sockets must go before the io_context that serves them; the pools themselves outlive it.
  for (auto& pool : pools_) pool->close_idle();
}

asio::ip::tcp::endpoint Worker::bind(const asio::ip::tcp::endpoint& endpoint) {
  server::SessionContext context{
      shared_.config.server,   *router_,           shared_.gate, sessions_,
      &shared_.server_metrics, shared_.access_log, true};
  listener_ = std::make_shared<server::Listener>(io_, endpoint, context);
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
  asio::post(io_, [this] {
    sessions_.start_sweeping(io_.get_executor());
    listener_->start();
  });
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

void Worker::stop() {
  work_.reset();
  io_.stop();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace levee::proxy
