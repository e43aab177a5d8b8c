// levee_telemetry_events_total and levee_telemetry_sink_info, read from FlushTelemetry at
// scrape time.
#include "proxy/telemetry_metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "admin/metric_registry.hpp"
#include "telemetry/telemetry.hpp"

namespace levee::proxy {
namespace {

using ::testing::HasSubstr;

// Takes every event and writes nowhere.
class NullSink final : public telemetry::Sink {
 public:
  [[nodiscard]] bool write(const telemetry::FlushEvent&) noexcept override { return true; }
  void flush() noexcept override {}
  [[nodiscard]] std::string_view name() const noexcept override { return "null"; }
};

TEST(TelemetryMetrics, CountersAreReadAtScrapeTime) {
  admin::Registry registry;
  telemetry::FlushTelemetry telemetry(std::make_unique<NullSink>(), telemetry::TelemetryOptions{});
  register_telemetry_metrics(registry, telemetry, "jsonl");
  telemetry.record(telemetry::FlushEvent{});
  telemetry.record(telemetry::FlushEvent{});
  telemetry.stop();
  telemetry.record(telemetry::FlushEvent{});  // after stop(): dropped
  const std::string text = registry.render();
  EXPECT_THAT(text, HasSubstr("# TYPE levee_telemetry_events_total counter\n"));
  EXPECT_THAT(text, HasSubstr("levee_telemetry_events_total{result=\"recorded\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("levee_telemetry_events_total{result=\"written\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("levee_telemetry_events_total{result=\"dropped\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("levee_telemetry_events_total{result=\"sink_error\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE levee_telemetry_sink_info gauge\n"));
  EXPECT_THAT(text, HasSubstr("levee_telemetry_sink_info{sink=\"jsonl\"} 1\n"));
}

TEST(TelemetryMetrics, CounterCallbackNamesMustEndInTotal) {
  admin::Registry registry;
  EXPECT_THROW(registry.counter_callback("levee_telemetry_events", "h", {}, [] { return 0.0; }),
               std::invalid_argument);
  registry.counter_callback("levee_x_total", "h", {{"a", "1"}}, [] { return 0.0; });
  // A second child of the same family is fine; a gauge of the same name is not.
  registry.counter_callback("levee_x_total", "h", {{"a", "2"}}, [] { return 0.0; });
  EXPECT_THROW(registry.gauge_callback("levee_x_total", "h", {{"a", "3"}}, [] { return 0.0; }),
               std::invalid_argument);
}

}  // namespace
}  // namespace levee::proxy
