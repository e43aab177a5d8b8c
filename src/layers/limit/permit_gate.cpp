#include "layers/limit/permit_gate.hpp"

namespace levee::layers::limit {

core::Response PermitGate::refuse(ShedReason reason) const {
  rules_->shed.count(reason);
  const std::string capacity = std::to_string(pool_->capacity());
  if (reason == ShedReason::upstream_inflight) {
    return shed_response("upstream " + rules_->upstream + " has " + capacity +
                         " calls in flight (max_inflight); retry later");
  }
  return shed_response("route " + rules_->route + " has " + capacity +
                       " requests pending (max_pending); retry later");
}

}  // namespace levee::layers::limit
