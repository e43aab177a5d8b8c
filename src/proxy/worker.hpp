#pragma once
// One worker thread: its own io_context, its own SO_REUSEPORT listener, its own upstream
// connection pools and route chains. Nothing on the request path is shared with other
// workers except the immutable configuration snapshot and the sharded metrics.
//
// Lifecycle (called from the controlling thread): construct → bind() → listen() → start() →
// [apply()…] → begin_drain() → [release_fleet_leases()] → stop() → join(). apply(), begin_drain()
// and stop() post to the worker's thread.
//
// Configuration reload (issue 17.4): apply() builds this worker's chains for a new snapshot
// on the worker's thread and installs them there (runtime/worker_routes.hpp), so the request
// path takes no lock. Connection pools and shared-tier clients are kept per worker for the
// worker's whole life, keyed by their settings: a reload reuses the pool of an upstream whose
// settings and addresses are unchanged, with its idle connections, and a pool no configuration
// uses any more has its idle connections closed. Keeping them (rather than freeing them) is
// what lets a request of an old configuration, and the pool's own deadline sweep, use them to
// the end.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <future>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "proxy/cache_setup.hpp"
#include "runtime/snapshot.hpp"
#include "runtime/worker_routes.hpp"
#include "server/connection_gate.hpp"
#include "server/http_session.hpp"
#include "server/listener.hpp"
#include "upstream/connection_pool.hpp"
#include "upstream/upstream_client.hpp"

namespace levee::proxy {

// What a worker is given for its whole life (a reload changes none of it).
struct WorkerEnv {
  const config::ServerConfig& server;
  const server::ServerMetrics& server_metrics;
  server::ConnectionGate& gate;
  server::AccessLog* access_log;
  const server::TlsContextSlot* tls = nullptr;  // the proxy listener's; outlives the workers
};

class Worker {
 public:
  Worker(unsigned index, const WorkerEnv& env, std::shared_ptr<const runtime::Snapshot> snapshot);
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
  // Installs `snapshot` on the worker's thread; the future is ready once new requests on this
  // worker are dispatched on it.
  [[nodiscard]] std::future<void> apply(std::shared_ptr<const runtime::Snapshot> snapshot);
  // Closes the listener and drains the sessions on the worker's thread; the future is ready
  // once that has happened, so the caller knows no new connection is accepted.
  [[nodiscard]] std::future<void> begin_drain();
  // After the drain, before stop(): the fleet leases this worker finished and has not yet
  // released go to Redis now (FleetClient::release_all).
  [[nodiscard]] std::future<void> release_fleet_leases();
  void stop();
  void join();

 private:
  // A pool and client for one upstream's settings and addresses; owns the settings the pool
  // refers to.
  struct UpstreamLink {
    UpstreamLink(const boost::asio::any_io_executor& executor, config::UpstreamConfig settings,
                 std::vector<boost::asio::ip::tcp::endpoint> addresses,
                 upstream::TransportPtr transport);
    config::UpstreamConfig config;
    std::vector<boost::asio::ip::tcp::endpoint> endpoints;
    upstream::ConnectionPool pool;
    upstream::H2Pool h2;  // used only by an upstream with protocol h2c or h2
    upstream::UpstreamClient client;
  };

  [[nodiscard]] std::shared_ptr<runtime::WorkerRoutes> build(
      std::shared_ptr<const runtime::Snapshot> snapshot);
  [[nodiscard]] UpstreamLink& link_for(const config::UpstreamConfig& upstream,
                                       const std::vector<boost::asio::ip::tcp::endpoint>& at,
                                       const upstream::TransportPtr& transport);
  [[nodiscard]] layers::cache::SharedTier* tier_for(const RedisTierSetup& setup);
  [[nodiscard]] std::shared_ptr<layers::collapse::fleet::FleetClient> fleet_for(
      const FleetSetup& setup);
  // Closes the idle connections of pools the installed configuration does not use.
  void retire_unused_links();

  unsigned index_;
  WorkerEnv env_;
  // Everything the coroutine frames of open sessions and in-flight upstream calls touch when
  // they are destroyed is declared before io_, so that it outlives io_: at a forced stop,
  // destroying io_ destroys those frames, and they unregister from the session set and
  // from their pool. (The pools' idle sockets are closed before that, in ~Worker.)
  server::SessionSet sessions_;
  std::vector<std::unique_ptr<UpstreamLink>> links_;  // never shrinks before ~Worker
  runtime::SnapshotRouter router_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::shared_ptr<server::Listener> listener_;
  // After io_, so that their clients' timers and descriptors go before io_; frames destroyed
  // with io_ that still hold one end it there. Never shrinks before ~Worker either.
  std::vector<std::pair<RedisTierSetup, std::shared_ptr<layers::cache::RedisTier>>> redis_tiers_;
  std::vector<std::pair<FleetSetup, std::shared_ptr<layers::collapse::fleet::FleetClient>>>
      fleet_clients_;
  std::thread thread_;
};

}  // namespace levee::proxy
