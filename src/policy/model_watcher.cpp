#include "policy/model_watcher.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace levee::policy {

ModelWatcher::ModelWatcher(std::vector<std::shared_ptr<ModelSlot>> slots,
                           std::chrono::milliseconds poll_interval)
    : slots_(std::move(slots)), poll_interval_(poll_interval) {}

ModelWatcher::~ModelWatcher() { stop(); }

void ModelWatcher::start() {
  if (slots_.empty() || thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void ModelWatcher::reload_all() {
  {
    std::lock_guard lock(mutex_);
    reload_requested_ = true;
  }
  wake_.notify_one();
}

void ModelWatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void ModelWatcher::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, poll_interval_, [this] { return stopping_ || reload_requested_; });
    if (stopping_) return;
    const bool force = std::exchange(reload_requested_, false);
    lock.unlock();
    if (force) spdlog::info("reloading {} flush-policy model(s)", slots_.size());
    for (const auto& slot : slots_) (void)slot->refresh(force);
    lock.lock();
  }
}

}  // namespace levee::policy
