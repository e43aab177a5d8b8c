#pragma once
// The admin listener's endpoints: / (the live status page, admin/status_page.hpp), /metrics
// (Prometheus text), /stats (JSON), /healthz (process alive) and /readyz (accepting traffic;
// 503 while draining). Read-only: any method but GET and HEAD gets 405. Runs on the admin
// thread; everything it reads is thread-safe (metric shards, atomics, a stats callback).

#include <atomic>
#include <functional>
#include <string>

#include "admin/metric_registry.hpp"
#include "core/dispatcher.hpp"
#include "core/service.hpp"

namespace levee::admin {

class AdminHandler final : public core::Dispatcher, public core::Handler {
 public:
  AdminHandler(const Registry& registry, const std::atomic<bool>& ready,
               std::function<std::string()> stats_json)
      : registry_(registry), ready_(ready), stats_json_(std::move(stats_json)) {}

  [[nodiscard]] core::Dispatch dispatch(const core::Request& request) override;
  [[nodiscard]] boost::asio::awaitable<core::Response> handle(core::Request request) override;

  // The same answer, synchronously (for tests).
  [[nodiscard]] core::Response answer(const core::Request& request) const;

 private:
  const Registry& registry_;
  const std::atomic<bool>& ready_;
  std::function<std::string()> stats_json_;
};

}  // namespace levee::admin
