#include "layers/limit/shed.hpp"

#include "admin/metrics.hpp"

namespace levee::layers::limit {

std::string_view to_string(ShedReason reason) noexcept {
  switch (reason) {
    case ShedReason::max_pending:
      return "max_pending";
    case ShedReason::upstream_inflight:
      return "upstream_inflight";
    case ShedReason::breaker_open:
      return "breaker_open";
  }
  return "unknown";
}

void ShedCounters::count(ShedReason reason) const noexcept {
  if (auto* counter = by_reason[static_cast<std::size_t>(reason)]) counter->inc();
}

core::Response shed_response(std::string message, std::chrono::seconds retry_after) {
  core::Response response = core::Response::text(503, message);
  response.headers.add("Retry-After", std::to_string(retry_after.count()));
  response.shed = true;
  return response;
}

}  // namespace levee::layers::limit
