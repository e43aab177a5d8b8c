#include "policy/flush_reporter.hpp"

#include <algorithm>
#include <cstddef>
#include <exception>
#include <span>
#include <utility>

#include "telemetry/flush_event.hpp"
#include "telemetry/telemetry.hpp"

namespace levee::policy {
namespace {

static_assert(telemetry::k_event_observation_size == k_observation_size,
              "flush telemetry records the whole observation");

// The group's arrivals, on the system clock the event's timestamp uses (for replay offline).
void record_arrivals(const GroupArrivals& arrivals, TimePoint now, telemetry::FlushEvent& event) {
  const auto since_open = now - arrivals.opened();
  event.opened =
      event.timestamp - std::chrono::duration_cast<std::chrono::system_clock::duration>(since_open);
  const std::span<const std::int64_t> offsets = arrivals.offsets();
  const std::size_t kept = std::min(offsets.size(), telemetry::k_max_event_arrivals);
  event.arrivals.assign(offsets.begin(), offsets.begin() + static_cast<std::ptrdiff_t>(kept));
  event.arrivals_truncated = kept < offsets.size();
}

}  // namespace

FlushReporter::FlushReporter(std::string route, std::shared_ptr<RouteSignals> signals,
                             telemetry::FlushTelemetry* telemetry, std::string policy_name,
                             bool policy_decides)
    : route_(std::move(route)),
      signals_(std::move(signals)),
      telemetry_(telemetry),
      policy_name_(std::move(policy_name)),
      policy_decides_(policy_decides) {}

bool FlushReporter::wants_flushes() const noexcept {
  return signals_ != nullptr || (telemetry_ != nullptr && telemetry_->enabled());
}

void FlushReporter::flushed(const FlushedGroup& group, TimePoint now) noexcept {
  const bool recording = telemetry_ != nullptr && telemetry_->enabled();
  if (recording) {
    try {  // building the event allocates (route and policy names)
      telemetry::FlushEvent event;
      event.route = route_;
      event.reason = group.reason;
      event.size = static_cast<std::uint32_t>(group.at_flush.size);
      event.age = group.at_flush.age;
      event.upstream_latency = group.upstream_latency;
      event.status = group.status;
      // Before this call's latency joins the signals: what the policy could have seen.
      if (signals_) event.observation = signals_->observe(group.at_flush, now);
      event.observation_version = k_observation_version;
      if (policy_decides_) {
        event.action = group.reason == FlushReason::policy ? telemetry::k_action_flush
                                                           : telemetry::k_action_wait;
      }
      event.policy = policy_name_;
      event.timestamp = std::chrono::system_clock::now();
      if (group.arrivals != nullptr) record_arrivals(*group.arrivals, now, event);
      telemetry_->record(std::move(event));
    } catch (const std::exception&) {
      // Out of memory for one event: telemetry is best effort, the request is not.
    }
  }
  // levee's own answers (shed, breaker open) say nothing about the upstream's latency.
  if (signals_ && group.reached_upstream) {
    signals_->record_upstream_latency(group.upstream_latency, now);
  }
}

}  // namespace levee::policy
