#pragma once
// What the admission and upstream-limit layers share: a route's limit rules, and a gate that
// takes a permit from a pool within the route's admission_timeout or builds the 503 that
// refuses the request, counting it by reason.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "core/permit_pool.hpp"
#include "core/response.hpp"
#include "layers/limit/shed.hpp"

namespace levee::layers::limit {

// A route's limits: its names, for messages, and how long its requests may wait for a permit.
struct LimitRules {
  std::string route;
  std::string upstream;
  std::chrono::nanoseconds timeout{0};
  ShedCounters shed;
};

class PermitGate {
 public:
  PermitGate(std::shared_ptr<core::PermitPool> pool, std::shared_ptr<const LimitRules> rules)
      : pool_(std::move(pool)), rules_(std::move(rules)) {}

  // A permit now, without waiting, or an empty one.
  [[nodiscard]] core::PermitPool::Permit try_acquire() { return pool_->try_acquire(); }
  [[nodiscard]] boost::asio::awaitable<core::PermitPool::Permit> acquire() {
    return pool_->acquire(rules_->timeout);
  }
  // Counts the refusal and returns its 503 with Retry-After.
  [[nodiscard]] core::Response refuse(ShedReason reason) const;

 private:
  std::shared_ptr<core::PermitPool> pool_;
  std::shared_ptr<const LimitRules> rules_;
};

}  // namespace levee::layers::limit
