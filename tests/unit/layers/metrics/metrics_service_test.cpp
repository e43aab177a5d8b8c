// MetricsService: one count by status class and one duration observation per answer,
// including answers an inner layer makes itself, with the time from a manual clock.

#include "layers/metrics/metrics_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "admin/metrics.hpp"
#include "common/fake_service.hpp"
#include "common/manual_clock.hpp"
#include "layers/limit/admission_service.hpp"

namespace levee::layers {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::FakeService;
using test::make_request;
using test::spawn_call;

struct Fixture {
  Fixture() {
    for (std::size_t i = 0; i < by_class.size(); ++i) metrics.requests_by_class[i] = &by_class[i];
    metrics.request_duration = &duration;
  }
  [[nodiscard]] std::uint64_t count(int status_class) const {
    return by_class[static_cast<std::size_t>(status_class - 1)].value();
  }
  [[nodiscard]] core::Request request(std::string target) const {
    core::Request made = make_request("GET", std::move(target));
    made.received_at = clock.now();
    return made;
  }

  asio::io_context io;
  test::ManualClock clock;
  std::array<admin::Counter, 5> by_class;
  admin::Histogram duration{admin::default_latency_buckets()};
  RouteMetrics metrics;
  FakeService inner;
};

TEST(MetricsService, CountsEachAnswerByItsStatusClass) {
  Fixture f;
  MetricsService<FakeService> service(f.inner, f.metrics, f.clock.function());
  f.inner.then(core::Response::text(200, "ok"));
  f.inner.then(core::Response::text(404, "not found"));
  f.inner.then(core::Response::text(204, ""));
  f.inner.then(core::Response::text(502, "bad gateway"));
  f.inner.then(core::Response::text(302, "elsewhere"));
  for (int i = 0; i < 5; ++i) {
    auto answered = spawn_call(f.io, service, f.request("/" + std::to_string(i)));
    test::poll(f.io);
    ASSERT_TRUE(answered->done());
  }
  EXPECT_EQ(f.count(1), 0u);
  EXPECT_EQ(f.count(2), 2u);
  EXPECT_EQ(f.count(3), 1u);
  EXPECT_EQ(f.count(4), 1u);
  EXPECT_EQ(f.count(5), 1u);
  EXPECT_EQ(f.duration.snapshot().count, 5u) << "one observation per answer";
}

TEST(MetricsService, ObservesTheTimeFromReceiptToAnswerOnItsClock) {
  Fixture f;
  MetricsService<FakeService> service(f.inner, f.metrics, f.clock.function());
  f.inner.hold();
  auto answered = spawn_call(f.io, service, f.request("/slow"));
  test::poll(f.io);
  f.clock.advance(250ms);
  f.inner.release_all();
  test::poll(f.io);
  ASSERT_TRUE(answered->done());
  const admin::HistogramSnapshot seen = f.duration.snapshot();
  EXPECT_EQ(seen.count, 1u);
  EXPECT_DOUBLE_EQ(seen.sum, 0.25);
}

TEST(MetricsService, CountsTheShedAnswerOfAnInnerLayerOnce) {
  Fixture f;
  using Admission = limit::AdmissionService<FakeService>;
  auto rules = std::make_shared<limit::LimitRules>();
  rules->route = "api";
  MetricsService<Admission> service(Admission(f.inner, core::PermitPool::create(0, 0), rules),
                                    f.metrics, f.clock.function());
  auto shed = spawn_call(f.io, service, f.request("/a"));
  test::poll(f.io);
  ASSERT_TRUE(shed->done());
  EXPECT_EQ(shed->status(), 503);
  EXPECT_EQ(f.inner.calls(), 0u);
  EXPECT_EQ(f.count(5), 1u);
  EXPECT_EQ(f.count(2), 0u);
  const admin::HistogramSnapshot seen = f.duration.snapshot();
  EXPECT_EQ(seen.count, 1u);
  EXPECT_DOUBLE_EQ(seen.sum, 0.0) << "no time passed on the clock";
}

TEST(MetricsService, AnAbandonedCallRecordsNothing) {
  Fixture f;
  MetricsService<FakeService> service(f.inner, f.metrics, f.clock.function());
  {
    asio::io_context other;
    f.inner.hold();
    auto abandoned = spawn_call(other, service, f.request("/a"));
    test::poll(other);
    f.clock.advance(1s);
  }
  EXPECT_EQ(f.inner.abandoned(), 1u);
  for (int status_class = 1; status_class <= 5; ++status_class) {
    EXPECT_EQ(f.count(status_class), 0u);
  }
  EXPECT_EQ(f.duration.snapshot().count, 0u);
}

}  // namespace
}  // namespace levee::layers
