// Latency accounting (issue 19, core/phases.hpp) through the real layers on a manual clock:
// the phases add up to the total, the batch's wait counts as parked and its call as upstream
// (neither as added latency), admission is the wait for the route's permit, and the metrics
// layer's sink gets one breakdown per answer.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <span>
#include <string>

#include "admin/metrics.hpp"
#include "common/fake_service.hpp"
#include "common/manual_clock.hpp"
#include "core/phases.hpp"
#include "layers/batch/batch_service.hpp"
#include "layers/limit/admission_service.hpp"
#include "layers/metrics/metrics_service.hpp"
#include "layers/metrics/phase_metrics.hpp"
#include "levee/flush_policy.hpp"

namespace levee::layers {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using core::Clock;
using test::FakeService;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The route's metrics and phase sink, with histograms of their own.
struct Sinks {
  Sinks() {
    for (std::size_t i = 0; i < by_class.size(); ++i) metrics.requests_by_class[i] = &by_class[i];
    metrics.request_duration = &duration;
    for (std::size_t i = 0; i < phase_histograms.size(); ++i) {
      phases.phases[i] = &phase_histograms[i];
    }
    phases.added = &added;
  }
  [[nodiscard]] double sum(std::string_view phase) const {
    for (std::size_t i = 0; i < k_phase_names.size(); ++i) {
      if (k_phase_names[i] == phase) return phase_histograms[i].snapshot().sum;
    }
    return -1;
  }
  std::array<admin::Counter, 5> by_class;
  admin::Histogram duration{admin::default_latency_buckets()};
  RouteMetrics metrics;
  std::array<admin::Histogram, k_phase_names.size()> phase_histograms{
      admin::Histogram(phase_buckets()), admin::Histogram(phase_buckets()),
      admin::Histogram(phase_buckets()), admin::Histogram(phase_buckets()),
      admin::Histogram(phase_buckets())};
  admin::Histogram added{phase_buckets()};
  PhaseMetrics phases;
};

void expect_adds_up(const core::PhaseBreakdown& b) {
  EXPECT_EQ(b.admission + b.parked + b.upstream + b.proxy, b.total);
  EXPECT_EQ(b.added(), b.total - b.parked - b.upstream) << "parked and upstream are not added";
}

// A route's batcher that sends a batch when 2 items are in, never by the timer, on `clock`.
std::shared_ptr<batch::RouteBatcher> pair_batcher(const test::ManualClock& clock,
                                                  std::shared_ptr<batch::BatchCounters> counters) {
  BatchLimits limits;
  limits.max_batch_size = 2;
  limits.max_wait = 1h;
  return batch::RouteBatcher::create(limits, std::make_shared<EnvelopePolicy>("size"),
                                     std::move(counters), clock.function());
}

// The batch endpoint: holds each call until the test releases it, then answers the payload,
// so that each member gets its own item back.
void hold_and_echo(FakeService& upstream) {
  upstream.respond_with([](const core::Request& request) {
    return core::Response::with_body(200, "application/json", request.body);
  });
  upstream.hold();
}

// Item `i`, received now, its phases recorded in `phases`.
core::Request item(std::size_t i, const test::ManualClock& clock, core::Phases& phases) {
  core::Request request = test::make_request("POST", "/items");
  request.body = "{\"n\":" + std::to_string(i) + "}";
  phases.received = clock.now();
  request.received_at = phases.received;
  request.phases = &phases;
  return request;
}

TEST(PhaseAccounting, BatchMembersSplitTheirTimeIntoParkedUpstreamAndLeveesOwn) {
  test::ManualClock clock;
  Sinks sinks;
  auto counters = std::make_shared<batch::BatchCounters>();
  auto batcher = pair_batcher(clock, counters);  // the batch goes when full
  FakeService upstream;
  hold_and_echo(upstream);
  using Batch = batch::BatchService<FakeService>;
  MetricsService<Batch> route(Batch(upstream, batcher, std::make_shared<const batch::BatchRules>(),
                                    counters, clock.function()),
                              sinks.metrics, clock.function(), &sinks.phases);
  asio::io_context io;

  std::array<core::Phases, 2> phases;
  const auto post = [&](std::size_t i) {
    return test::spawn_call(io, route, item(i, clock, phases[i]));
  };
  auto first = post(0);
  test::poll(io);
  clock.advance(7ms);  // the first item waits for the second
  auto second = post(1);
  test::poll(io);
  ASSERT_EQ(upstream.calls(), 1u) << "the batch left when full";
  clock.advance(50ms);  // the batch call
  upstream.release_all();
  test::poll(io);
  ASSERT_TRUE(first->done() && second->done());
  clock.advance(300us);  // levee's own work: the answers written
  const auto answered = clock.now();

  std::array<core::PhaseBreakdown, 2> breakdowns;
  for (std::size_t i = 0; i < 2; ++i) {
    ASSERT_EQ(phases[i].sink, &sinks.phases) << "the metrics layer names its sink";
    breakdowns[i] = phases[i].breakdown(answered);
    phases[i].sink->record(breakdowns[i]);
    expect_adds_up(breakdowns[i]);
    EXPECT_EQ(breakdowns[i].admission, Clock::duration::zero()) << "the batcher admits";
    EXPECT_EQ(breakdowns[i].upstream, 50ms);
    EXPECT_EQ(breakdowns[i].added(), 300us) << "the wait and the call are not levee's";
  }
  EXPECT_EQ(breakdowns[0].parked, 7ms);
  EXPECT_EQ(breakdowns[0].total, 57ms + 300us);
  EXPECT_EQ(breakdowns[1].parked, Clock::duration::zero());
  EXPECT_EQ(breakdowns[1].total, 50ms + 300us);

  EXPECT_DOUBLE_EQ(sinks.sum("parked"), seconds(7ms));
  EXPECT_DOUBLE_EQ(sinks.sum("upstream"), seconds(100ms));
  EXPECT_DOUBLE_EQ(sinks.sum("proxy"), seconds(600us));
  EXPECT_DOUBLE_EQ(sinks.sum("total"), seconds(107ms + 600us));
  EXPECT_DOUBLE_EQ(sinks.added.snapshot().sum, seconds(600us));
  EXPECT_EQ(sinks.added.snapshot().count, 2u);
  batcher->close();
}

TEST(PhaseAccounting, TheTimeABatchTakesToGetItsCallGoingIsLeveesNotTheWait) {
  test::ManualClock clock;
  Sinks sinks;
  auto counters = std::make_shared<batch::BatchCounters>();
  auto batcher = pair_batcher(clock, counters);
  FakeService upstream;
  hold_and_echo(upstream);
  auto rules = std::make_shared<const batch::BatchRules>();
  using Batch = batch::BatchService<FakeService>;
  // Two workers, each with its own chain over the route's batcher; the batch's call runs on
  // the worker whose item opened it.
  asio::io_context opener;
  asio::io_context other;
  std::array<MetricsService<Batch>, 2> routes{
      MetricsService<Batch>(Batch(upstream, batcher, rules, counters, clock.function()),
                            sinks.metrics, clock.function(), &sinks.phases),
      MetricsService<Batch>(Batch(upstream, batcher, rules, counters, clock.function()),
                            sinks.metrics, clock.function(), &sinks.phases)};
  std::array<core::Phases, 2> phases;
  const auto post = [&](std::size_t i, asio::io_context& io) {
    return test::spawn_call(io, routes[i], item(i, clock, phases[i]));
  };
  auto first = post(0, opener);
  test::poll(opener);
  clock.advance(4ms);
  auto second = post(1, other);  // fills the batch: it leaves now
  test::poll(other);
  ASSERT_EQ(upstream.calls(), 0u) << "the opener's worker has not started the call yet";
  clock.advance(3ms);  // the opener's worker was busy: levee's own delay
  test::poll(opener);
  ASSERT_EQ(upstream.calls(), 1u);
  clock.advance(50ms);
  upstream.release_all();
  while (test::poll(opener) + test::poll(other) > 0) {
  }
  ASSERT_TRUE(first->done() && second->done());
  const auto answered = clock.now();
  for (std::size_t i = 0; i < 2; ++i) {
    const core::PhaseBreakdown b = phases[i].breakdown(answered);
    expect_adds_up(b);
    EXPECT_EQ(b.parked, i == 0 ? 4ms : Clock::duration::zero()) << "the wait ends as it leaves";
    EXPECT_EQ(b.upstream, 50ms);
    EXPECT_EQ(b.added(), 3ms) << "the late start of the call is levee's, item " << i;
  }
  batcher->close();
}

TEST(PhaseAccounting, AdmissionIsTheWaitForTheRoutesPermit) {
  test::ManualClock clock;
  Sinks sinks;
  FakeService inner;
  inner.hold();
  auto rules = std::make_shared<limit::LimitRules>();
  rules->route = "api";
  rules->timeout = 1h;  // wait in line rather than be shed
  using Admission = limit::AdmissionService<FakeService>;
  MetricsService<Admission> route(
      Admission(inner, core::PermitPool::create(1, 10), rules, clock.function()), sinks.metrics,
      clock.function(), &sinks.phases);
  asio::io_context io;

  std::array<core::Phases, 2> phases;
  const auto get = [&](std::size_t i) {
    core::Request request = test::make_request("GET", "/a");
    phases[i].received = clock.now();
    request.received_at = phases[i].received;
    request.phases = &phases[i];
    return test::spawn_call(io, route, std::move(request));
  };
  auto holder = get(0);
  test::poll(io);
  auto waiter = get(1);
  test::poll(io);
  ASSERT_EQ(inner.calls(), 1u) << "the second waits for the permit";
  clock.advance(3ms);
  inner.release_all();  // the first answers and gives its permit back with its response
  test::poll(io);
  ASSERT_TRUE(holder->done());
  holder->response.reset();  // written: the permit goes to the one in line
  test::poll(io);
  ASSERT_EQ(inner.calls(), 2u);
  clock.advance(2ms);
  inner.release_all();
  test::poll(io);
  ASSERT_TRUE(waiter->done());

  const core::PhaseBreakdown first = phases[0].breakdown(clock.now());
  const core::PhaseBreakdown second = phases[1].breakdown(clock.now());
  expect_adds_up(first);
  expect_adds_up(second);
  EXPECT_EQ(first.admission, Clock::duration::zero());
  EXPECT_EQ(second.admission, 3ms);
  EXPECT_EQ(second.total, 5ms);
  EXPECT_EQ(second.added(), 5ms) << "waiting for capacity is levee's, not a chosen wait";
}

TEST(PhaseAccounting, BreakdownClampsSpansSoThePartsAlwaysAddUp) {
  core::Phases phases;
  phases.received = Clock::time_point(1h);
  phases.admitted = phases.received + 1ms;
  phases.parked = 10ms;
  phases.upstream = 500ms;  // longer than the request: clamped, never a negative remainder
  const core::PhaseBreakdown b = phases.breakdown(phases.received + 20ms);
  expect_adds_up(b);
  EXPECT_EQ(b.admission, 1ms);
  EXPECT_EQ(b.parked, 10ms);
  EXPECT_EQ(b.upstream, 9ms);
  EXPECT_EQ(b.proxy, Clock::duration::zero());
}

TEST(PhaseAccounting, TheBucketIsTheOneTheSearchWouldFind) {
  const std::span<const double> bounds = phase_buckets();
  EXPECT_EQ(bounds.size(), 109u);
  EXPECT_DOUBLE_EQ(bounds[0], 100e-6);
  EXPECT_DOUBLE_EQ(bounds[99], 10e-3);
  const auto searched = [&bounds](Clock::duration d) {
    const double v = seconds(d);
    return static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) -
                                    bounds.begin());
  };
  for (auto d = Clock::duration::zero(); d < 30ms; d += 37us + 11ns) {
    ASSERT_EQ(phase_bucket(d), searched(d)) << d.count() << " ns";
  }
  for (auto d : {Clock::duration(-5us), Clock::duration(1ns), Clock::duration(100us + 1ns),
                 Clock::duration(10ms + 1ns), Clock::duration(20ms), Clock::duration(3s),
                 Clock::duration(10s + 1ns), Clock::duration(1h)}) {
    EXPECT_EQ(phase_bucket(d), d <= Clock::duration::zero() ? 0 : searched(d)) << d.count();
  }
}

}  // namespace
}  // namespace levee::layers
