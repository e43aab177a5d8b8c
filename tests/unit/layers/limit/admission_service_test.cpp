// AdmissionService against a held fake inner service: the permit rides on the response, the
// FIFO line up to admission_timeout, the hand-over on release, and a cancelled waiter.

#include "layers/limit/admission_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "admin/metrics.hpp"
#include "common/fake_client.hpp"
#include "common/fake_service.hpp"

namespace levee::layers::limit {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::FakeService;
using test::make_request;
using test::spawn_call;

struct Fixture {
  explicit Fixture(std::uint64_t capacity, std::chrono::nanoseconds timeout = 1h,
                   std::uint64_t max_waiters = 8)
      : pool(core::PermitPool::create(capacity, max_waiters)), rules(make_rules(timeout)) {}

  std::shared_ptr<const LimitRules> make_rules(std::chrono::nanoseconds timeout) {
    auto made = std::make_shared<LimitRules>();
    made->route = "api";
    made->upstream = "legacy";
    made->timeout = timeout;
    made->shed.by_reason[static_cast<std::size_t>(ShedReason::max_pending)] = &max_pending_shed;
    return made;
  }

  asio::io_context io;
  admin::Counter max_pending_shed;
  std::shared_ptr<core::PermitPool> pool;
  std::shared_ptr<const LimitRules> rules;
  FakeService inner;
  AdmissionService<FakeService> service{inner, pool, rules};
};

TEST(AdmissionService, ThePermitRidesOnTheResponseUntilItIsDropped) {
  Fixture f(1);
  auto first = spawn_call(f.io, f.service, make_request("GET", "/a"));
  test::poll(f.io);
  ASSERT_TRUE(first->response.has_value());
  EXPECT_EQ(first->status(), 200);
  ASSERT_NE(first->response->held_until_written, nullptr);
  EXPECT_EQ(f.pool->in_use(), 1u) << "held until the session has written the answer";

  first->response->held_until_written.reset();
  EXPECT_EQ(f.pool->in_use(), 0u);
  EXPECT_EQ(f.inner.calls(), 1u);
  EXPECT_EQ(f.max_pending_shed.value(), 0u);
}

TEST(AdmissionService, AWaiterWithoutAPermitInTimeIsShedWithRetryAfter) {
  Fixture f(1, 1ms);
  f.inner.hold();
  auto holder = spawn_call(f.io, f.service, make_request("GET", "/a"));
  test::poll(f.io);
  ASSERT_EQ(f.inner.held(), 1u);

  auto late = spawn_call(f.io, f.service, make_request("GET", "/b"));
  test::poll(f.io);
  EXPECT_EQ(f.pool->waiting(), 1u);
  EXPECT_FALSE(late->done()) << "it waits in line before it is refused";

  test::run_until_done(f.io, *late);
  ASSERT_TRUE(late->response.has_value());
  EXPECT_EQ(late->status(), 503);
  EXPECT_TRUE(late->response->shed);
  const std::string* retry_after = late->response->headers.find("Retry-After");
  ASSERT_NE(retry_after, nullptr);
  EXPECT_EQ(*retry_after, "1");
  EXPECT_NE(late->response->body_view().find("max_pending"), std::string_view::npos);
  EXPECT_EQ(late->response->held_until_written, nullptr);
  EXPECT_EQ(f.max_pending_shed.value(), 1u);
  EXPECT_EQ(f.inner.calls(), 1u) << "a shed request never reaches the inner service";
  EXPECT_EQ(f.pool->waiting(), 0u);
  EXPECT_FALSE(holder->done());
}

TEST(AdmissionService, AReleaseHandsThePermitToTheFirstWaiter) {
  Fixture f(1);
  f.inner.hold();
  auto first = spawn_call(f.io, f.service, make_request("GET", "/first"));
  test::poll(f.io);
  auto second = spawn_call(f.io, f.service, make_request("GET", "/second"));
  auto third = spawn_call(f.io, f.service, make_request("GET", "/third"));
  test::poll(f.io);
  ASSERT_EQ(f.pool->waiting(), 2u);
  ASSERT_EQ(f.inner.calls(), 1u);

  ASSERT_EQ(f.inner.release(), 1u);
  test::poll(f.io);
  ASSERT_TRUE(first->done());
  EXPECT_EQ(f.inner.calls(), 1u) << "the answer still holds the permit";

  first->response.reset();  // written: the session drops it
  test::poll(f.io);
  ASSERT_EQ(f.inner.calls(), 2u);
  EXPECT_EQ(f.inner.last().target, "/second") << "first come, first served";
  EXPECT_EQ(f.pool->waiting(), 1u);
  EXPECT_EQ(f.pool->in_use(), 1u);

  f.inner.release_all();
  test::poll(f.io);
  ASSERT_TRUE(second->done());
  second->response.reset();
  test::poll(f.io);
  ASSERT_TRUE(third->done());
  EXPECT_EQ(f.inner.requests().at(2).target, "/third");
  EXPECT_EQ(third->status(), 200);
  third->response.reset();
  EXPECT_EQ(f.pool->in_use(), 0u);
  EXPECT_EQ(f.max_pending_shed.value(), 0u);
}

TEST(AdmissionService, AWaiterCancelledInLineGivesItsPlaceUp) {
  Fixture f(1);
  f.inner.hold();
  auto first = spawn_call(f.io, f.service, make_request("GET", "/first"));
  test::poll(f.io);
  auto gone = spawn_call(f.io, f.service, make_request("GET", "/gone"));
  auto next = spawn_call(f.io, f.service, make_request("GET", "/next"));
  test::poll(f.io);
  ASSERT_EQ(f.pool->waiting(), 2u);

  gone->cancel();
  test::poll(f.io);
  EXPECT_EQ(f.pool->waiting(), 1u);
  EXPECT_TRUE(gone->done());

  f.inner.release_all();
  test::poll(f.io);
  ASSERT_TRUE(first->done());
  first->response.reset();
  test::poll(f.io);
  EXPECT_EQ(f.inner.calls(), 2u);
  EXPECT_EQ(f.inner.last().target, "/next") << "the cancelled waiter's place went to the next";
  ASSERT_TRUE(next->done());
  next->response.reset();
  EXPECT_EQ(f.pool->in_use(), 0u);
}

TEST(AdmissionService, AWaiterWhoseClientLeftAnswers499AndIsNoShed) {
  Fixture f(1);
  f.inner.hold();
  auto first = spawn_call(f.io, f.service, make_request("GET", "/first"));
  test::poll(f.io);
  auto client = std::make_shared<test::FakeClient>();
  core::Request request = make_request("GET", "/left");
  request.client = client;
  auto left = spawn_call(f.io, f.service, std::move(request));
  test::poll(f.io);
  ASSERT_EQ(f.pool->waiting(), 1u);

  client->go_away();
  left->cancel();  // the session cancels the request of a client that left
  test::poll(f.io);
  EXPECT_EQ(left->status(), 499);
  EXPECT_EQ(f.pool->waiting(), 0u);
  EXPECT_EQ(f.max_pending_shed.value(), 0u);
  EXPECT_EQ(f.inner.calls(), 1u);
  f.inner.release_all();
  test::poll(f.io);
  ASSERT_TRUE(first->done());
  first->response.reset();
  EXPECT_EQ(f.pool->in_use(), 0u);
}

TEST(AdmissionService, ACallAbandonedInTheInnerServiceGivesItsPermitBack) {
  Fixture f(1);
  {
    asio::io_context other;
    f.inner.hold();
    auto abandoned = spawn_call(other, f.service, make_request("GET", "/a"));
    test::poll(other);
    ASSERT_EQ(f.pool->in_use(), 1u);
  }  // the io_context goes, and the call's frame with it
  EXPECT_EQ(f.inner.abandoned(), 1u);
  EXPECT_EQ(f.pool->in_use(), 0u);
}

}  // namespace
}  // namespace levee::layers::limit
