#pragma once
// One worker thread: its own io_context, its own SO_REUSEPORT listener, its own upstream
// connection pools and route pipelines. Nothing on the request path is shared with other
// workers except the immutable config and route table and the sharded metrics.
//
// Lifecycle (called from the controlling thread): construct → bind() → listen() → start() →
// begin_drain() → stop() → join(). begin_drain() and stop() post to the worker's thread.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "layers/metrics/route_metrics.hpp"
#include "proxy/cache_setup.hpp"
#include "proxy/pipeline.hpp"
#include "router/route_table.hpp"
#include "router/router.hpp"
#include "server/connection_gate.hpp"
#include "server/http_session.hpp"
#include "server/listener.hpp"
#include "upstream/connection_pool.hpp"
#include "upstream/upstream_client.hpp"

namespace levee::proxy {

class ProxyMetrics;

using UpstreamEndpoints = std::map<std::string, std::vector<boost::asio::ip::tcp::endpoint>>;

struct WorkerShared {
  const config::Config& config;
  std::shared_ptr<const router::RouteTable> routes;
  const UpstreamEndpoints& endpoints;
  const std::vector<const layers::RouteMetrics*>& route_metrics;  // config.routes order
  const std::vector<CollapseShared>& collapse;                    // config.routes order
  const std::vector<BatchShared>& batch;                          // config.routes order
  const std::vector<RouteLimits>& limits;                         // config.routes order
  const UpstreamGuardMap& guards;
  const std::vector<layers::cache::CacheShared>& cache;  // config.routes order
  const RedisTierSetup& redis;
  const server::ServerMetrics& server_metrics;
  server::ConnectionGate& gate;
  server::AccessLog* access_log;
};

class Worker {
 public:
  Worker(unsigned index, const WorkerShared& shared);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds this worker's listener; returns the bound endpoint (the real port for port 0).
  boost::asio::ip::tcp::endpoint bind(const boost::asio::ip::tcp::endpoint& endpoint);
  // The bound listener's socket, to tell it apart from other processes' (port_owners.hpp).
  [[nodiscard]] int listener_handle() const;
  // Starts queueing connections on the bound listener (they are accepted once started).
  void listen();
  void start();
  // Closes the listener and drains the sessions on the worker's thread; the future is ready
  // once that has happened, so the caller knows no new connection is accepted.
  [[nodiscard]] std::future<void> begin_drain();
  void stop();
  void join();

 private:
  unsigned index_;
  WorkerShared shared_;
  // Everything the coroutine frames of open sessions and in-flight upstream calls touch when
  // they are destroyed is declared before io_, so that it outlives io_: at a forced stop,
  // destroying io_ destroys those frames, and they unregister from the session set and
  // from their pool. (The pools' idle sockets are closed before that, in ~Worker.)
  server::SessionSet sessions_;
  std::vector<std::unique_ptr<upstream::ConnectionPool>> pools_;
  std::map<std::string, std::unique_ptr<upstream::UpstreamClient>, std::less<>> clients_;
  std::unique_ptr<router::Router> router_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::shared_ptr<server::Listener> listener_;
  // After io_, so that its client's timers and descriptor go before io_; frames destroyed
  // with io_ that still hold it end it there.
  std::shared_ptr<layers::cache::RedisTier> redis_tier_;
  std::thread thread_;
};

}  // namespace levee::proxy
