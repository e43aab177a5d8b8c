#include "support/redis_server.hpp"

#include <chrono>
#include <csignal>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/ports.hpp"

namespace levee::testing {

namespace {
constexpr const char* redis_server_binary = "/usr/bin/redis-server";
constexpr const char* redis_sentinel_binary = "/usr/bin/redis-sentinel";
constexpr const char* redis_cli_binary = "/usr/bin/redis-cli";

void wait_until_listening(Process& process, std::uint16_t port, std::string_view what) {
  using namespace std::chrono_literals;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!accepts_connections(port)) {
    if (!process.running() || std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error(std::string(what) + " did not start: " + process.stdout_text() +
                               process.stderr_text());
    }
    std::this_thread::sleep_for(2ms);
  }
}

}  // namespace

RedisServer::RedisServer(std::uint16_t port, std::optional<std::uint16_t> replica_of)
    : port_(port), replica_of_(replica_of) {
  start();
}

RedisServer::~RedisServer() { resume(); }

void RedisServer::start() {
  std::vector<std::string> args{
      "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save",
      "",       "--appendonly",        "no",     "--dir",     dir_.path().string()};
  if (replica_of_) {
    args.insert(args.end(), {"--replicaof", "127.0.0.1", std::to_string(*replica_of_)});
  }
  process_.emplace(redis_server_binary, std::move(args));
  wait_until_listening(*process_, port_, "redis-server");
}

void RedisServer::kill() {
  resume();
  process_->send_signal(SIGKILL);
  (void)process_->wait_exit(std::chrono::seconds(5));
  process_.reset();
}

void RedisServer::pause() {
  process_->send_signal(SIGSTOP);
  paused_ = true;
}

void RedisServer::resume() {
  if (paused_ && process_) process_->send_signal(SIGCONT);
  paused_ = false;
}

}  // namespace levee::testing

namespace levee::testing {

RedisSentinel::RedisSentinel(std::uint16_t port, std::uint16_t primary_port,
                             std::string master_name)
    : port_(port), master_name_(std::move(master_name)) {
  // Sentinel rewrites its configuration file as it learns, so it gets one of its own.
  const std::string name = master_name_;
  const std::string config = write_file(
      dir_.path() / "sentinel.conf",
      "port " + std::to_string(port_) + "\nbind 127.0.0.1\ndir " + dir_.path().string() +
          "\nsentinel monitor " + name + " 127.0.0.1 " + std::to_string(primary_port) +
          " 1\nsentinel down-after-milliseconds " + name + " 500\nsentinel failover-timeout " +
          name + " 2000\nsentinel parallel-syncs " + name + " 1\n");
  process_.emplace(redis_sentinel_binary, std::vector<std::string>{config});
  wait_until_listening(*process_, port_, "redis-sentinel");
}

std::uint16_t RedisSentinel::primary_port() const {
  // Two lines: the host, then the port.
  const std::string out = redis_cli(port_, {"SENTINEL", "get-master-addr-by-name", master_name_});
  const auto newline = out.find('\n');
  if (newline == std::string::npos) return 0;
  const std::string port = out.substr(newline + 1, out.find('\n', newline + 1) - newline - 1);
  return port.empty() ? 0 : static_cast<std::uint16_t>(std::stoul(port));
}

bool RedisSentinel::knows_replica(std::uint16_t replica_port) const {
  const std::string out = redis_cli(port_, {"SENTINEL", "replicas", master_name_});
  return out.find("\n" + std::to_string(replica_port) + "\n") != std::string::npos;
}

std::string redis_cli(std::uint16_t port, const std::vector<std::string>& args) {
  std::vector<std::string> all{"-p", std::to_string(port)};
  all.insert(all.end(), args.begin(), args.end());
  Process cli(redis_cli_binary, std::move(all));
  if (cli.wait_exit(std::chrono::seconds(5)) != 0) return "";
  return cli.stdout_text();
}

bool replica_in_sync(std::uint16_t replica_port) {
  return redis_cli(replica_port, {"INFO", "replication"}).find("master_link_status:up") !=
         std::string::npos;
}

}  // namespace levee::testing
