#include "layers/batch/batch_call.hpp"

namespace levee::layers::batch {

BatchFailure failed_call(const BatchRules& rules, const core::Response& response) {
  // levee's own 504 (the call timed out) stays 504; anything else the upstream or the
  // connection did is a bad gateway for the callers.
  const int status = response.status == 504 ? 504 : 502;
  std::string_view body = response.body_view();
  const bool cut = body.size() > k_failure_excerpt;
  if (cut) body = body.substr(0, k_failure_excerpt);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  std::string message = "batch call to " + rules.upstream_path +
                        " failed: " + std::to_string(response.status) + " " +
                        std::string(core::reason_phrase(response.status));
  if (!body.empty()) {
    message += ": ";
    message += body;
    if (cut) message += "...";
  }
  return BatchFailure{BatchError::call_failed, std::move(message), status};
}

}  // namespace levee::layers::batch
