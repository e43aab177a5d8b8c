#include "policy/model_slot.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "policy/observation.hpp"
#include "policy/onnx_model.hpp"

namespace levee::policy {

namespace {

// stat(2) rather than std::filesystem: the inode is part of the identity, so that a file
// replaced by rename (the atomic way to publish a model) is seen even within one mtime tick.
std::optional<FileIdentity> identify(const std::string& path, std::string& error) {
  struct stat info{};
  if (::stat(path.c_str(), &info) != 0) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  return FileIdentity{
      static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec,
      static_cast<std::uintmax_t>(info.st_size), static_cast<std::uintmax_t>(info.st_ino)};
}

std::string describe(std::chrono::nanoseconds duration) {
  return std::to_string(duration.count() / 1000) + "." +
         std::to_string(duration.count() % 1000 / 100) + "us";
}

}  // namespace

ModelSlot::ModelSlot(std::string route, std::string path,
                     std::chrono::nanoseconds decision_deadline)
    : route_(std::move(route)), path_(std::move(path)), decision_deadline_(decision_deadline) {}

RefreshOutcome ModelSlot::refresh(bool force) {
  std::string error;
  const std::optional<FileIdentity> seen = identify(path_, error);
  if (!seen) {
    // Reported once per disappearance, not at every poll.
    const bool news = force || last_seen_.has_value() || loads() + failures() == 0;
    last_seen_.reset();
    if (!news) return RefreshOutcome::unchanged;
    fail("cannot read model " + path_ + ": " + error);
    return RefreshOutcome::failed;
  }
  if (!force && last_seen_ == seen) return RefreshOutcome::unchanged;
  last_seen_ = seen;

  ModelLoadResult loaded = load_model(path_);
  if (!loaded) {
    fail(loaded.error());
    return RefreshOutcome::failed;
  }
  const std::shared_ptr<const CompiledModel>& model = loaded.value();
  if (auto mismatch = observation_mismatch(*model)) {
    fail("model " + path_ + ": " + *mismatch);
    return RefreshOutcome::failed;
  }
  if (const auto cost = measure(*model); cost > decision_deadline_) {
    fail("model " + path_ + " takes " + describe(cost) + " per decision, more than its route's " +
         "decision_deadline of " + describe(decision_deadline_));
    return RefreshOutcome::failed;
  }
  const bool replaced = current() != nullptr;
  model_.store(model, std::memory_order_release);
  loads_.fetch_add(1, relaxed);
  if (loads_metric_ != nullptr) loads_metric_->inc();
  {
    std::lock_guard lock(error_mutex_);
    last_error_.clear();
  }
  spdlog::info("route {}: {} flush-policy model {} ({} parameters)", route_,
               replaced ? "reloaded" : "loaded", path_, model->parameter_count());
  return RefreshOutcome::loaded;
}

std::string ModelSlot::last_error() const {
  std::lock_guard lock(error_mutex_);
  return last_error_;
}

void ModelSlot::fail(std::string message) {
  failures_.fetch_add(1, relaxed);
  if (failures_metric_ != nullptr) failures_metric_->inc();
  spdlog::warn("route {}: {}; {}", route_, message,
               current() ? "keeping the previous model"
                         : "deciding with the adaptive policy until a model loads");
  std::lock_guard lock(error_mutex_);
  last_error_ = std::move(message);
}

std::chrono::nanoseconds ModelSlot::measure(const CompiledModel& model) {
  constexpr std::size_t k_rounds = 64;
  CompiledModel::Scratch scratch;
  const std::vector<float> obs(model.input_width(), 0.5F);
  (void)model.evaluate(obs, scratch);  // the scratch grows once
  std::vector<std::chrono::nanoseconds> costs;
  costs.reserve(k_rounds);
  for (std::size_t i = 0; i < k_rounds; ++i) {
    const auto started = std::chrono::steady_clock::now();
    (void)model.evaluate(obs, scratch);
    costs.push_back(std::chrono::steady_clock::now() - started);
  }
  std::nth_element(costs.begin(), costs.begin() + k_rounds / 2, costs.end());
  return costs[k_rounds / 2];
}

}  // namespace levee::policy
