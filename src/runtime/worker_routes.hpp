#pragma once
// A worker's view of one configuration (issue 17.4): the process-wide Snapshot and the
// worker's own chain of each route, bound to its upstream clients and shared cache tier. The
// worker installs a new one RCU-style: the install is posted to the worker's io_context, so
// dispatch() reads `current_` without a lock, and each request holds the WorkerRoutes it was
// dispatched on (core::Dispatch::keep_alive) until its response is written. Requests already
// dispatched finish on their configuration; the next ones use the new one.
//
// Threading: install() and dispatch() run on the worker's thread (or before it starts).

#include <memory>

#include "core/dispatcher.hpp"
#include "router/router.hpp"
#include "runtime/snapshot.hpp"

namespace levee::runtime {

struct WorkerRoutes {
  std::shared_ptr<const Snapshot> snapshot;
  router::Router router;  // this worker's chains, by snapshot->table
};

class SnapshotRouter final : public core::Dispatcher {
 public:
  void install(std::shared_ptr<WorkerRoutes> routes) noexcept { current_ = std::move(routes); }
  [[nodiscard]] const std::shared_ptr<WorkerRoutes>& current() const noexcept { return current_; }

  [[nodiscard]] core::Dispatch dispatch(const core::Request& request) override {
    core::Dispatch dispatch = current_->router.dispatch(request);
    if (dispatch.handler != nullptr) dispatch.keep_alive = current_;
    return dispatch;
  }

 private:
  std::shared_ptr<WorkerRoutes> current_;
};

}  // namespace levee::runtime
