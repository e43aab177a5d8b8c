#include "layers/batch/batch_call.hpp"

#include <algorithm>
#include <charconv>

namespace levee::layers::batch {

namespace {

// Retry-After in delta-seconds (RFC 9110 10.2.3); an HTTP-date or nonsense gives the fallback.
std::chrono::seconds retry_after_of(const core::Response& response, std::chrono::seconds fallback) {
  const std::string* value = response.headers.find("Retry-After");
  if (value == nullptr) return fallback;
  std::uint32_t seconds = 0;
  const char* end = value->data() + value->size();
  auto [ptr, ec] = std::from_chars(value->data(), end, seconds);
  if (ec != std::errc{} || ptr != end) return fallback;
  return std::clamp(std::chrono::seconds(seconds), std::chrono::seconds(1), k_max_retry_after);
}

}  // namespace

BatchFailure failed_call(const BatchRules& rules, const core::Response& response) {
  // An overloaded upstream (503, 429), or an open breaker in front of it, asked for a pause:
  // the callers get 503 with its Retry-After, so that they back off instead of retrying a
  // "bad gateway". levee's own 504 (the call timed out) stays 504; anything else the upstream
  // or the connection did is a bad gateway for the callers.
  const bool overloaded = response.status == 503 || response.status == 429;
  const int status = overloaded ? 503 : response.status == 504 ? 504 : 502;
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
  BatchFailure failure{BatchError::call_failed, std::move(message), status};
  if (overloaded) failure.retry_after = retry_after_of(response, rules.retry_after);
  return failure;
}

}  // namespace levee::layers::batch
