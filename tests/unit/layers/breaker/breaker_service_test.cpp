#include "layers/breaker/breaker_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <memory>
#include <optional>

#include "common/fake_service.hpp"

namespace levee::layers::breaker {
namespace {

namespace asio = boost::asio;
using std::chrono::seconds;

core::Request get() {
  core::Request request;
  request.method = "GET";
  request.target = "/a";
  request.headers.add("Host", "h");
  return request;
}

core::Response upstream_failure() {
  core::Response response = core::Response::text(502, "upstream legacy refused");
  response.upstream_failed = true;
  return response;
}

struct Fixture {
  explicit Fixture(BreakerSettings settings = with_min_calls(2))
      : breaker(std::make_shared<CircuitBreaker>(settings, CircuitBreaker::Observer{},
                                                 [this] { return now; })) {}

  static BreakerSettings with_min_calls(std::uint32_t min_calls) {
    BreakerSettings settings;
    settings.min_calls = min_calls;
    return settings;
  }

  BreakerService<test::FakeService> service() {
    return BreakerService<test::FakeService>(inner, breaker, "legacy", metrics);
  }

  // Runs one call to its end on its own io_context.
  core::Response call() {
    auto layer = service();
    asio::io_context io;
    std::optional<core::Response> answer;
    asio::co_spawn(io, layer.call(get()),
                   [&answer](const std::exception_ptr& error, core::Response response) {
                     if (error) std::rethrow_exception(error);
                     answer = std::move(response);
                   });
    io.run();
    EXPECT_TRUE(answer.has_value());
    return answer.value_or(core::Response::text(0, "no answer"));
  }

  void answer(core::Response response) { inner.answer(std::move(response)); }

  TimePoint now{std::chrono::hours(1)};
  test::FakeService inner;
  admin::Counter rejected;
  admin::Counter failures;
  BreakerMetrics metrics{&rejected, &failures};
  std::shared_ptr<CircuitBreaker> breaker;
};

TEST(BreakerService, PassesAnswersThroughWhileClosed) {
  Fixture f;
  core::Response response = f.call();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body_view(), "ok\n");
  EXPECT_EQ(f.inner.calls(), 1u);
  EXPECT_EQ(f.breaker->state(), State::closed);
}

TEST(BreakerService, OpenAnswers503WithRetryAfterWithoutCallingInner) {
  Fixture f;
  f.answer(upstream_failure());
  (void)f.call();
  (void)f.call();
  ASSERT_EQ(f.breaker->state(), State::open);
  EXPECT_EQ(f.failures.value(), 2u);
  f.now += std::chrono::milliseconds(2500);
  core::Response refused = f.call();
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.body_view(), "upstream legacy circuit open\n");
  ASSERT_NE(refused.headers.find("Retry-After"), nullptr);
  EXPECT_EQ(*refused.headers.find("Retry-After"), "3");
  EXPECT_FALSE(refused.upstream_failed);
  EXPECT_EQ(f.inner.calls(), 2u);
  EXPECT_EQ(f.rejected.value(), 1u);
  EXPECT_EQ(f.breaker->rejected_total(), 1u);
}

TEST(BreakerService, AnUpstreamFailureCountsEvenWithout5xxCounting) {
  BreakerSettings settings = Fixture::with_min_calls(2);
  settings.count_5xx = false;
  Fixture f(settings);
  f.answer(upstream_failure());
  (void)f.call();
  (void)f.call();
  EXPECT_EQ(f.breaker->state(), State::open);
}

TEST(BreakerService, A200CountsAsSuccess) {
  Fixture f;
  f.answer(upstream_failure());
  (void)f.call();
  (void)f.call();
  f.now += seconds(5);
  f.answer(core::Response::text(200, "back"));
  EXPECT_EQ(f.call().status, 200);  // the half-open probe
  EXPECT_EQ(f.breaker->state(), State::closed);
  EXPECT_EQ(f.failures.value(), 2u);
}

TEST(BreakerService, Upstream5xxCountsAsFailureWithCount5xx) {
  Fixture f;
  f.answer(core::Response::text(500, "boom"));
  EXPECT_EQ(f.call().status, 500);
  EXPECT_EQ(f.call().status, 500);
  EXPECT_EQ(f.breaker->state(), State::open);
}

TEST(BreakerService, Upstream5xxCountsAsSuccessWithoutCount5xx) {
  BreakerSettings settings = Fixture::with_min_calls(2);
  settings.count_5xx = false;
  Fixture f(settings);
  f.answer(core::Response::text(500, "boom"));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(f.call().status, 500);
  EXPECT_EQ(f.breaker->state(), State::closed);
  f.answer(upstream_failure());
  (void)f.call();  // 1 failure in 11 calls
  EXPECT_EQ(f.breaker->state(), State::closed);
  EXPECT_EQ(f.failures.value(), 1u);
}

TEST(BreakerService, A4xxCountsAsSuccess) {
  Fixture f;
  f.answer(core::Response::text(404, "no"));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(f.call().status, 404);
  EXPECT_EQ(f.breaker->state(), State::closed);
}

TEST(BreakerService, ACancelledProbeGivesItsSlotBack) {
  Fixture f;
  f.answer(upstream_failure());
  (void)f.call();
  (void)f.call();
  f.now += seconds(5);
  f.inner.hold();
  auto layer = f.service();
  {
    // The probe runs on its own io_context and is destroyed with it, mid-call.
    asio::io_context io;
    asio::co_spawn(io, layer.call(get()), asio::detached);
    io.poll();
    EXPECT_EQ(f.inner.calls(), 3u);
    EXPECT_EQ(f.breaker->state(), State::half_open);
    EXPECT_EQ(f.call().status, 503);  // the one probe slot is taken
    EXPECT_EQ(f.inner.calls(), 3u);
  }
  EXPECT_EQ(f.inner.abandoned(), 1u);
  f.inner.release_all();
  f.answer(core::Response::text(200, "back"));
  EXPECT_EQ(f.call().status, 200);
  EXPECT_EQ(f.inner.calls(), 4u);
  EXPECT_EQ(f.breaker->state(), State::closed);
}

}  // namespace
}  // namespace levee::layers::breaker
