#include "policy/flush_reporter.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "telemetry/telemetry.hpp"

namespace levee::policy {
namespace {

using std::chrono::milliseconds;

// Keeps what it is given.
class MemorySink final : public telemetry::Sink {
 public:
  explicit MemorySink(std::shared_ptr<std::vector<telemetry::FlushEvent>> events)
      : events_(std::move(events)) {}
  bool write(const telemetry::FlushEvent& event) noexcept override {
    events_->push_back(event);
    return true;
  }
  void flush() noexcept override {}
  std::string_view name() const noexcept override { return "memory"; }

 private:
  std::shared_ptr<std::vector<telemetry::FlushEvent>> events_;
};

GroupState at_flush(std::size_t size) {
  GroupState g;
  g.size = size;
  g.size_cap = 100;
  g.age = milliseconds(25);
  g.max_wait = milliseconds(50);
  return g;
}

struct Recorded {
  std::shared_ptr<std::vector<telemetry::FlushEvent>> events =
      std::make_shared<std::vector<telemetry::FlushEvent>>();
  telemetry::FlushTelemetry telemetry{std::make_unique<MemorySink>(events),
                                      telemetry::TelemetryOptions{}};
};

TEST(FlushReporter, EveryFlushBecomesOneEventWithWhatThePolicySaw) {
  Recorded recorded;
  auto signals = std::make_shared<RouteSignals>();
  FlushReporter reporter("api", signals, &recorded.telemetry, "adaptive", true);
  const auto now = std::chrono::steady_clock::now();
  reporter.arrival(now);
  reporter.flushed(FlushedGroup{at_flush(50), FlushReason::policy, milliseconds(20), 200, true},
                   now);
  reporter.flushed(FlushedGroup{at_flush(10), FlushReason::timeout, milliseconds(30), 502, true},
                   now);
  recorded.telemetry.stop();

  ASSERT_EQ(recorded.events->size(), 2u);
  const telemetry::FlushEvent& first = (*recorded.events)[0];
  EXPECT_EQ(first.route, "api");
  EXPECT_EQ(first.policy, "adaptive");
  EXPECT_EQ(first.reason, FlushReason::policy);
  EXPECT_EQ(first.size, 50u);
  EXPECT_EQ(first.age, milliseconds(25));
  EXPECT_EQ(first.upstream_latency, milliseconds(20));
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.action, telemetry::k_action_flush);
  EXPECT_FLOAT_EQ(first.observation[0], 0.5F);  // 50 of 100
  EXPECT_FLOAT_EQ(first.observation[1], 0.5F);  // 25 of 50 ms
  EXPECT_FLOAT_EQ(first.observation[2], 0.0F);  // no upstream call measured before it
  EXPECT_GT(first.observation[3], 0.0F);        // one arrival
  const telemetry::FlushEvent& second = (*recorded.events)[1];
  EXPECT_EQ(second.action, telemetry::k_action_wait);  // the envelope sent it, not the policy
  EXPECT_GT(second.observation[2], 0.0F);              // the first call's latency is in
  EXPECT_EQ(second.status, 502);
}

TEST(FlushReporter, TheEventCarriesTheObservationVersionAndTheGroupsArrivals) {
  Recorded recorded;
  FlushReporter reporter("api", std::make_shared<RouteSignals>(), &recorded.telemetry, "learned",
                         true);
  const auto before = std::chrono::system_clock::now();
  const auto opened = std::chrono::steady_clock::now() - milliseconds(30);
  GroupArrivals arrivals(opened);
  arrivals.add(opened + milliseconds(1));
  arrivals.add(opened + milliseconds(4));
  reporter.flushed(
      FlushedGroup{at_flush(3), FlushReason::policy, milliseconds(2), 200, true, &arrivals},
      std::chrono::steady_clock::now());
  reporter.flushed(FlushedGroup{at_flush(1), FlushReason::timeout, milliseconds(2), 200, true},
                   std::chrono::steady_clock::now());
  const auto after = std::chrono::system_clock::now();
  recorded.telemetry.stop();

  ASSERT_EQ(recorded.events->size(), 2u);
  const telemetry::FlushEvent& event = (*recorded.events)[0];
  EXPECT_EQ(event.observation_version, k_observation_version);
  EXPECT_EQ(event.arrivals, (std::vector<std::int64_t>{0, 1'000'000, 4'000'000}));
  EXPECT_FALSE(event.arrivals_truncated);
  // The opening, on the system clock: 30 ms before the flush was reported.
  EXPECT_GE(event.opened, before - milliseconds(30));
  EXPECT_LE(event.opened, after - milliseconds(30));
  EXPECT_TRUE((*recorded.events)[1].arrivals.empty());  // the owner recorded none
}

TEST(FlushReporter, AGroupLargerThanTheEventsListIsCutAndSaysSo) {
  Recorded recorded;
  FlushReporter reporter("api", nullptr, &recorded.telemetry, "timer", false);
  const auto opened = std::chrono::steady_clock::now();
  GroupArrivals arrivals(opened);
  for (std::size_t i = 1; i < telemetry::k_max_event_arrivals + 10; ++i) {
    arrivals.add(opened + std::chrono::microseconds(i));
  }
  reporter.flushed(FlushedGroup{at_flush(telemetry::k_max_event_arrivals + 10),
                                FlushReason::size_cap, milliseconds(1), 200, true, &arrivals},
                   std::chrono::steady_clock::now());
  recorded.telemetry.stop();
  ASSERT_EQ(recorded.events->size(), 1u);
  EXPECT_EQ((*recorded.events)[0].arrivals.size(), telemetry::k_max_event_arrivals);
  EXPECT_TRUE((*recorded.events)[0].arrivals_truncated);
}

TEST(FlushReporter, LeveesOwnAnswersDoNotCountAsUpstreamLatency) {
  auto signals = std::make_shared<RouteSignals>();
  FlushReporter reporter("api", signals, nullptr, "learned", true);
  const auto now = std::chrono::steady_clock::now();
  reporter.flushed(FlushedGroup{at_flush(3), FlushReason::policy, milliseconds(1), 503, false},
                   now);
  EXPECT_FALSE(signals->upstream_p99(now).has_value());
  reporter.flushed(FlushedGroup{at_flush(3), FlushReason::policy, milliseconds(40), 200, true},
                   now);
  ASSERT_TRUE(signals->upstream_p99(now).has_value());
  EXPECT_GE(*signals->upstream_p99(now), milliseconds(40));
}

TEST(FlushReporter, APolicyThatDecidesNothingRecordsNoActionAndNoObservation) {
  Recorded recorded;
  FlushReporter reporter("api", nullptr, &recorded.telemetry, "timer", false);
  EXPECT_TRUE(reporter.wants_flushes());
  reporter.flushed(FlushedGroup{at_flush(7), FlushReason::timeout, milliseconds(5), 200, true},
                   std::chrono::steady_clock::now());
  recorded.telemetry.stop();
  ASSERT_EQ(recorded.events->size(), 1u);
  EXPECT_EQ((*recorded.events)[0].action, telemetry::k_action_none);
  EXPECT_EQ((*recorded.events)[0].observation, (Observation{0, 0, 0, 0}));
}

}  // namespace
}  // namespace levee::policy
