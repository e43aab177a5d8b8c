// UpstreamLimitService against a held fake inner service: max_inflight calls at once, the 503
// (upstream_inflight) after the wait, and the permit given back on every path.

#include "layers/limit/upstream_limit_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "admin/metrics.hpp"
#include "common/fake_service.hpp"

namespace levee::layers::limit {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::FakeService;
using test::make_request;
using test::spawn_call;

struct Fixture {
  explicit Fixture(std::uint64_t max_inflight, std::chrono::nanoseconds timeout = 1h)
      : pool(core::PermitPool::create(max_inflight, 8)), rules(make_rules(timeout)) {}

  std::shared_ptr<const LimitRules> make_rules(std::chrono::nanoseconds timeout) {
    auto made = std::make_shared<LimitRules>();
    made->route = "api";
    made->upstream = "legacy";
    made->timeout = timeout;
    made->shed.by_reason[static_cast<std::size_t>(ShedReason::upstream_inflight)] = &inflight_shed;
    made->shed.by_reason[static_cast<std::size_t>(ShedReason::max_pending)] = &pending_shed;
    return made;
  }

  asio::io_context io;
  admin::Counter inflight_shed;
  admin::Counter pending_shed;
  std::shared_ptr<core::PermitPool> pool;
  std::shared_ptr<const LimitRules> rules;
  FakeService inner;
  UpstreamLimitService<FakeService> service{inner, pool, rules};
};

TEST(UpstreamLimitService, AtMostMaxInflightCallsReachTheInnerService) {
  Fixture f(2);
  f.inner.hold();
  auto a = spawn_call(f.io, f.service, make_request("GET", "/a"));
  auto b = spawn_call(f.io, f.service, make_request("GET", "/b"));
  auto c = spawn_call(f.io, f.service, make_request("GET", "/c"));
  test::poll(f.io);
  EXPECT_EQ(f.inner.active(), 2u);
  EXPECT_EQ(f.pool->in_use(), 2u);
  EXPECT_EQ(f.pool->waiting(), 1u);

  ASSERT_EQ(f.inner.release(), 1u);
  test::poll(f.io);
  ASSERT_TRUE(a->done());
  EXPECT_EQ(a->status(), 200);
  EXPECT_EQ(a->response->held_until_written, nullptr)
      << "a buffered answer gives it back with the call";
  EXPECT_EQ(f.inner.calls(), 3u);
  EXPECT_EQ(f.inner.last().target, "/c");
  EXPECT_EQ(f.inner.active(), 2u);

  f.inner.release_all();
  test::poll(f.io);
  EXPECT_TRUE(b->done());
  EXPECT_TRUE(c->done());
  EXPECT_EQ(f.pool->in_use(), 0u);
  EXPECT_EQ(f.inflight_shed.value(), 0u);
}

TEST(UpstreamLimitService, ACallWithoutAPermitInTimeGets503UpstreamInflight) {
  // Long enough that the poll below runs before it, even under a sanitizer on a busy machine
  // (1 ms was not: the late call was refused before the poll looked).
  Fixture f(1, 250ms);
  f.inner.hold();
  auto holder = spawn_call(f.io, f.service, make_request("GET", "/a"));
  auto late = spawn_call(f.io, f.service, make_request("GET", "/b"));
  test::poll(f.io);
  EXPECT_FALSE(late->done()) << "it waits before it is refused";

  test::run_until_done(f.io, *late);
  ASSERT_TRUE(late->response.has_value());
  EXPECT_EQ(late->status(), 503);
  EXPECT_TRUE(late->response->shed);
  EXPECT_NE(late->response->headers.find("Retry-After"), nullptr);
  EXPECT_EQ(late->response->body_view(),
            "upstream legacy has 1 calls in flight (max_inflight); retry later\n");
  EXPECT_EQ(f.inflight_shed.value(), 1u);
  EXPECT_EQ(f.pending_shed.value(), 0u);
  EXPECT_EQ(f.inner.calls(), 1u);
  EXPECT_FALSE(holder->done());
  EXPECT_EQ(f.pool->in_use(), 1u);
}

TEST(UpstreamLimitService, APermitIsGivenBackOnAnErrorAnswer) {
  Fixture f(1, 0ns);
  core::Response failed = core::Response::text(502, "upstream legacy refused the connection");
  failed.upstream_failed = true;
  f.inner.then(failed);
  auto first = spawn_call(f.io, f.service, make_request("GET", "/a"));
  test::poll(f.io);
  EXPECT_EQ(first->status(), 502);
  EXPECT_EQ(f.pool->in_use(), 0u);

  auto second = spawn_call(f.io, f.service, make_request("GET", "/b"));
  test::poll(f.io);
  EXPECT_EQ(second->status(), 200) << "the permit came back: no wait, no shed";
  EXPECT_EQ(f.inflight_shed.value(), 0u);
}

TEST(UpstreamLimitService, APermitIsGivenBackWhenTheCallIsCancelled) {
  Fixture f(1, 0ns);
  f.inner.hold();
  auto cancelled = spawn_call(f.io, f.service, make_request("GET", "/a"));
  test::poll(f.io);
  ASSERT_EQ(f.pool->in_use(), 1u);
  cancelled->cancel();
  test::poll(f.io);
  EXPECT_TRUE(cancelled->done());
  EXPECT_EQ(f.pool->in_use(), 0u);
  EXPECT_EQ(f.inner.active(), 0u);
}

TEST(UpstreamLimitService, APermitIsGivenBackWhenTheCallIsDestroyed) {
  Fixture f(1, 0ns);
  {
    asio::io_context other;
    f.inner.hold();
    auto abandoned = spawn_call(other, f.service, make_request("GET", "/a"));
    test::poll(other);
    ASSERT_EQ(f.pool->in_use(), 1u);
  }
  EXPECT_EQ(f.inner.abandoned(), 1u);
  EXPECT_EQ(f.pool->in_use(), 0u);
}

TEST(UpstreamLimitService, ARefusedCallHoldsNoPermit) {
  Fixture f(1, 0ns);
  f.inner.hold();
  auto holder = spawn_call(f.io, f.service, make_request("GET", "/a"));
  auto refused = spawn_call(f.io, f.service, make_request("GET", "/b"));
  test::poll(f.io);
  EXPECT_EQ(refused->status(), 503);
  f.inner.release_all();
  test::poll(f.io);
  EXPECT_TRUE(holder->done());
  EXPECT_EQ(f.pool->in_use(), 0u);
  EXPECT_EQ(f.inflight_shed.value(), 1u);
}

}  // namespace
}  // namespace levee::layers::limit
