#include "layers/limit/admission_layer.hpp"

#include <fmt/format.h>

#include <iterator>
#include <utility>

#include "admin/metric_registry.hpp"
#include "core/permit_pool.hpp"
#include "layers/limit/admission_service.hpp"
#include "proxy/guards.hpp"

namespace levee::layers::limit {

namespace {

class AdmissionLayer final : public runtime::RouteLayer {
 public:
  AdmissionLayer(std::uint64_t capacity, std::shared_ptr<core::PermitPool> pool,
                 std::shared_ptr<const LimitRules> rules)
      : capacity_(capacity), pool_(std::move(pool)), rules_(std::move(rules)) {}

  [[nodiscard]] core::Next wrap(core::Next inner, const runtime::WorkerLinks&) const override {
    return core::Next(
        core::make_stage(AdmissionService<core::Next>(std::move(inner), pool_, rules_)));
  }

  void append_stats(std::string& out) const override {
    fmt::format_to(std::back_inserter(out), ",\"pending\":{},\"admission_waiting\":{}",
                   pool_->in_use(), pool_->waiting());
  }

  [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] const std::shared_ptr<core::PermitPool>& pool() const noexcept { return pool_; }

 private:
  std::uint64_t capacity_;
  std::shared_ptr<core::PermitPool> pool_;
  std::shared_ptr<const LimitRules> rules_;
};

}  // namespace

std::unique_ptr<runtime::RouteLayer> make_admission_layer(const runtime::LayerInputs& inputs) {
  const config::RouteConfig& route = inputs.route;
  if (route.mode == config::RouteMode::batch) return nullptr;
  const std::uint64_t capacity =
      route.max_pending != 0 ? route.max_pending : config::k_default_max_pending;
  std::shared_ptr<core::PermitPool> pool;
  if (const auto* before = dynamic_cast<const AdmissionLayer*>(inputs.previous);
      before != nullptr && before->capacity() == capacity) {
    pool = before->pool();
  } else {
    pool = core::PermitPool::create(capacity, proxy::permit_waiters(capacity));
  }
  // Weak: a removed route's pool is freed with its last request, not kept by its gauges.
  auto& registry = inputs.services.registry;
  registry.replace_gauge_callback("levee_route_pending",
                                  "Requests holding one of a route's max_pending permits now.",
                                  {{"route", route.name}}, [weak = std::weak_ptr(pool)] {
                                    auto held = weak.lock();
                                    return held ? static_cast<double>(held->in_use()) : 0.0;
                                  });
  registry.replace_gauge_callback("levee_admission_waiting",
                                  "Requests waiting for one of a route's max_pending permits now.",
                                  {{"route", route.name}}, [weak = std::weak_ptr(pool)] {
                                    auto held = weak.lock();
                                    return held ? static_cast<double>(held->waiting()) : 0.0;
                                  });
  return std::make_unique<AdmissionLayer>(capacity, std::move(pool),
                                          proxy::make_limit_rules(route, inputs.metrics));
}

}  // namespace levee::layers::limit
