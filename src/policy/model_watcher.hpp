#pragma once
// Keeps the `learned` routes' models current (DESIGN.md "Flush policies"): every
// poll_interval it refreshes each ModelSlot, which reloads a file whose identity changed, and
// reload_all() (SIGHUP) reloads every file at once whether it changed or not.
//
// Polling rather than inotify: it also sees a file published by renaming a new one over it,
// a symlink switched to another target (Kubernetes ConfigMap volumes), and a file on a
// network mount, at the cost of up to poll_interval's delay and one stat(2) per model per
// poll.
//
// Threading: one thread of its own does every load (parsing and validating a model never
// runs on a worker). start(), reload_all() and stop() may be called from any thread; stop()
// (or the destructor) joins the thread.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "policy/model_slot.hpp"

namespace levee::policy {

class ModelWatcher {
 public:
  ModelWatcher(std::vector<std::shared_ptr<ModelSlot>> slots,
               std::chrono::milliseconds poll_interval);
  ModelWatcher(const ModelWatcher&) = delete;
  ModelWatcher& operator=(const ModelWatcher&) = delete;
  ~ModelWatcher();

  void start();       // no thread when there is no slot
  void reload_all();  // asks the thread to reload every model now
  void stop();

 private:
  void run();

  const std::vector<std::shared_ptr<ModelSlot>> slots_;
  const std::chrono::milliseconds poll_interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;          // under mutex_
  bool reload_requested_ = false;  // under mutex_
  std::thread thread_;
};

}  // namespace levee::policy
