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
}  // namespace

RedisServer::RedisServer(std::uint16_t port) : port_(port) { start(); }

RedisServer::~RedisServer() { resume(); }

void RedisServer::start() {
  using namespace std::chrono_literals;
  process_.emplace(
      redis_server_binary,
      std::vector<std::string>{"--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", dir_.path().string()});
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!accepts_connections(port_)) {
    if (!process_->running() || std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("redis-server did not start: " + process_->stdout_text() +
                               process_->stderr_text());
    }
    std::this_thread::sleep_for(2ms);
  }
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
