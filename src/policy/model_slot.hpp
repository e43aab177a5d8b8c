#pragma once
// The `learned` policy's model for one route, replaced whole while requests use it (DESIGN.md
// "Flush policies": the model file is reloaded when it changes, without a restart).
//
// refresh() reads the file, and only when it loaded, validated, takes this levee's observation
// (its declared version and input width, observation.hpp) and evaluates within the route's
// decision_deadline does the new model replace the old one, in one atomic store. A
// decision holds its own reference to the model it started with, so a swap never frees a
// model under an evaluation. A file that fails keeps the previous model (or none), and the
// reason is kept for the log, /stats and the tests.
//
// Threading: current() is wait-free-ish (an atomic shared_ptr load) and safe from any
// thread. refresh() is for one thread at a time (the ModelWatcher's, or start-up before the
// workers run); the counters and last_error() are safe from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "admin/metrics.hpp"
#include "policy/mlp_interpreter.hpp"

namespace levee::policy {

// What identifies one version of a file: a rename or a rewrite changes at least one of them.
struct FileIdentity {
  std::int64_t modified_ns = 0;
  std::uintmax_t size = 0;
  std::uintmax_t inode = 0;
  bool operator==(const FileIdentity&) const = default;
};

enum class RefreshOutcome : std::uint8_t { unchanged, loaded, failed };

class ModelSlot {
 public:
  // `route` and `path` name the slot in messages; `decision_deadline` is what one evaluation
  // may cost: a model measured slower at load is refused.
  ModelSlot(std::string route, std::string path, std::chrono::nanoseconds decision_deadline);
  ModelSlot(const ModelSlot&) = delete;
  ModelSlot& operator=(const ModelSlot&) = delete;

  // Null until a model has loaded.
  [[nodiscard]] std::shared_ptr<const CompiledModel> current() const noexcept {
    return model_.load(std::memory_order_acquire);
  }

  // Loads the file if its identity changed since the last attempt, or always when `force`d
  // (SIGHUP). A missing file is a failure like any other; the old model stays.
  RefreshOutcome refresh(bool force);

  [[nodiscard]] const std::string& route() const noexcept { return route_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::uint64_t loads() const noexcept { return loads_.load(relaxed); }
  [[nodiscard]] std::uint64_t failures() const noexcept { return failures_.load(relaxed); }
  // Why the last refresh that failed did; empty once a later one loaded.
  [[nodiscard]] std::string last_error() const;

  // Prometheus children counting loads and failures; set before the first refresh().
  void count_to(admin::Counter* loads, admin::Counter* failures) noexcept {
    loads_metric_ = loads;
    failures_metric_ = failures;
  }

 private:
  static constexpr auto relaxed = std::memory_order_relaxed;
  // The median cost of one evaluation of `model`, measured on this thread.
  [[nodiscard]] static std::chrono::nanoseconds measure(const CompiledModel& model);
  void fail(std::string message);

  const std::string route_;
  const std::string path_;
  const std::chrono::nanoseconds decision_deadline_;
  std::atomic<std::shared_ptr<const CompiledModel>> model_;
  std::optional<FileIdentity> last_seen_;  // refresh()'s thread only
  admin::Counter* loads_metric_ = nullptr;
  admin::Counter* failures_metric_ = nullptr;
  std::atomic<std::uint64_t> loads_{0};
  std::atomic<std::uint64_t> failures_{0};
  mutable std::mutex error_mutex_;
  std::string last_error_;
};

}  // namespace levee::policy
