// BatchService over a real route batcher and a fake inner service that answers the batch
// call: refusals before parking, each member's own element back (position and id demux), a
// member whose client left, and the debug header's times on a manual clock.

#include "layers/batch/batch_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/fake_client.hpp"
#include "common/fake_service.hpp"
#include "common/manual_clock.hpp"
#include "levee/flush_policy.hpp"

namespace levee::layers::batch {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::FakeService;
using test::Spawned;

struct Fixture {
  explicit Fixture(std::size_t max_batch_size, BatchRules settings = {})
      : rules(std::make_shared<const BatchRules>(std::move(settings))),
        counters(std::make_shared<BatchCounters>()),
        batcher(RouteBatcher::create(limits(max_batch_size),
                                     std::make_shared<EnvelopePolicy>("size"), counters,
                                     clock.function())) {
    // The batch call's answer is its payload: each member gets its own item back.
    inner.respond_with([](const core::Request& request) {
      return core::Response::with_body(200, "application/json", request.body);
    });
  }
  // Nothing the batcher spawns may reach `io` once it is gone.
  ~Fixture() { batcher->close(); }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  static BatchLimits limits(std::size_t max_batch_size) {
    BatchLimits made;
    made.max_batch_size = max_batch_size;
    made.max_wait = 1h;  // batches go by size in these tests, never by the timer
    return made;
  }

  std::shared_ptr<Spawned> post(std::string body,
                                std::shared_ptr<core::ClientWatch> client = nullptr) {
    core::Request request = test::make_request("POST", "/items");
    request.body = std::move(body);
    request.client = std::move(client);
    return test::spawn_call(io, service, std::move(request));
  }

  test::ManualClock clock;
  std::shared_ptr<const BatchRules> rules;
  std::shared_ptr<BatchCounters> counters;
  std::shared_ptr<RouteBatcher> batcher;
  FakeService inner;
  BatchService<FakeService> service{inner, batcher, rules, counters, clock.function()};
  // Last: destroyed first, with the frames that refer to `service`.
  asio::io_context io;
};

std::string body_of(const Spawned& spawned) {
  return spawned.response ? std::string(spawned.response->body_view()) : std::string("(none)");
}

TEST(BatchService, RefusesWhatCannotGoIntoABatchBeforeParkingIt) {
  BatchRules rules;
  rules.max_item_bytes = 16;
  Fixture f(2, rules);
  core::Request get = test::make_request("GET", "/items");
  auto not_post = test::spawn_call(f.io, f.service, std::move(get));
  auto empty = f.post("");
  auto invalid = f.post("{\"n\":");
  auto large = f.post("[\"0123456789abcdef\"]");
  test::poll(f.io);

  EXPECT_EQ(not_post->status(), 405);
  ASSERT_TRUE(not_post->response.has_value());
  const std::string* allow = not_post->response->headers.find("Allow");
  ASSERT_NE(allow, nullptr);
  EXPECT_EQ(*allow, "POST");
  EXPECT_EQ(empty->status(), 400);
  EXPECT_EQ(invalid->status(), 400);
  EXPECT_TRUE(body_of(*invalid).starts_with("invalid item: ")) << body_of(*invalid);
  EXPECT_EQ(large->status(), 413);
  EXPECT_NE(body_of(*large).find("max_item_bytes (16)"), std::string::npos) << body_of(*large);

  EXPECT_EQ(f.batcher->stats().pending_items, 0u) << "nothing was parked";
  EXPECT_EQ(f.inner.calls(), 0u);
  EXPECT_EQ(f.counters->items(ItemOutcomeKind::invalid), 4u);
}

TEST(BatchService, EachMemberGetsItsOwnElementByPosition) {
  Fixture f(3);
  auto one = f.post("{\"n\": 1}");
  auto two = f.post("{\"n\": 2}");
  test::poll(f.io);
  EXPECT_FALSE(one->done()) << "parked until the batch is full";
  EXPECT_EQ(f.inner.calls(), 0u);
  auto three = f.post("{\"n\": 3}");
  test::poll(f.io);

  ASSERT_EQ(f.inner.calls(), 1u) << "one call for the three items";
  EXPECT_EQ(f.inner.last().method, "POST");
  EXPECT_EQ(f.inner.last().target, "/process_batch");
  EXPECT_EQ(f.inner.last().body, "[{\"n\": 1},{\"n\": 2},{\"n\": 3}]");
  EXPECT_EQ(one->status(), 200);
  EXPECT_EQ(body_of(*one), "{\"n\": 1}");
  EXPECT_EQ(body_of(*two), "{\"n\": 2}");
  EXPECT_EQ(body_of(*three), "{\"n\": 3}");
  EXPECT_EQ(f.counters->items(ItemOutcomeKind::ok), 3u);
  EXPECT_EQ(f.counters->calls(CallOutcome::ok), 1u);
}

TEST(BatchService, EachMemberGetsItsOwnElementById) {
  BatchRules rules;
  rules.demux.mode = DemuxMode::id;
  Fixture f(2, rules);
  // The upstream answers in its own order.
  f.inner.respond_with([](const core::Request&) {
    return core::Response::with_body(200, "application/json",
                                     "[{\"id\":\"b\",\"r\":2},{\"id\":\"a\",\"r\":1}]");
  });
  auto a = f.post("{\"id\":\"a\"}");
  auto b = f.post("{\"id\":\"b\"}");
  test::poll(f.io);
  EXPECT_EQ(body_of(*a), "{\"id\":\"a\",\"r\":1}");
  EXPECT_EQ(body_of(*b), "{\"id\":\"b\",\"r\":2}");
}

TEST(BatchService, AnItemWithoutAnIdIsRefusedInIdMode) {
  BatchRules rules;
  rules.demux.mode = DemuxMode::id;
  Fixture f(2, rules);
  auto no_id = f.post("{\"n\":1}");
  test::poll(f.io);
  EXPECT_EQ(no_id->status(), 400);
  EXPECT_EQ(f.batcher->stats().pending_items, 0u);
}

TEST(BatchService, AMemberWhoseClientLeftIsTakenOutOfItsBatch) {
  Fixture f(2);
  auto client = std::make_shared<test::FakeClient>();
  auto leaving = f.post("{\"who\":\"leaving\"}", client);
  test::poll(f.io);
  ASSERT_TRUE(client->watched());
  ASSERT_EQ(f.batcher->stats().open_items, 1u);

  client->go_away();
  test::poll(f.io);
  EXPECT_EQ(leaving->status(), 499);
  EXPECT_EQ(f.batcher->stats().open_items, 0u);
  EXPECT_EQ(f.counters->items(ItemOutcomeKind::withdrawn), 1u);

  auto x = f.post("{\"who\":\"x\"}");
  auto y = f.post("{\"who\":\"y\"}");
  test::poll(f.io);
  ASSERT_EQ(f.inner.calls(), 1u);
  EXPECT_EQ(f.inner.last().body, "[{\"who\":\"x\"},{\"who\":\"y\"}]") << "without the leaver";
  EXPECT_EQ(body_of(*x), "{\"who\":\"x\"}");
  EXPECT_EQ(body_of(*y), "{\"who\":\"y\"}");
}

TEST(BatchService, AClientGoneBeforeParkingIsAnsweredAtOnce) {
  Fixture f(2);
  auto client = std::make_shared<test::FakeClient>();
  client->go_away();
  auto gone = f.post("{\"n\":1}", client);
  test::poll(f.io);
  EXPECT_EQ(gone->status(), 499);
  EXPECT_EQ(f.batcher->stats().pending_items, 0u);
  EXPECT_EQ(f.inner.calls(), 0u);
}

TEST(BatchService, TheDebugHeaderTimesTheWaitAndTheCallOnTheInjectedClock) {
  BatchRules rules;
  rules.debug_header = true;
  Fixture f(2, rules);
  f.inner.hold();
  auto first = f.post("{\"n\":1}");
  test::poll(f.io);
  f.clock.advance(3ms);
  auto second = f.post("{\"n\":2}");  // fills the batch: it leaves now
  test::poll(f.io);
  ASSERT_EQ(f.inner.held(), 1u);
  f.clock.advance(2ms);
  f.inner.release_all();
  test::poll(f.io);

  ASSERT_TRUE(first->response.has_value());
  ASSERT_TRUE(second->response.has_value());
  const std::string* first_header = first->response->headers.find(k_debug_header);
  const std::string* second_header = second->response->headers.find(k_debug_header);
  ASSERT_NE(first_header, nullptr);
  ASSERT_NE(second_header, nullptr);
  EXPECT_EQ(*first_header, "items=2; waited_us=3000; upstream_us=2000");
  EXPECT_EQ(*second_header, "items=2; waited_us=0; upstream_us=2000");
}

TEST(BatchService, AFailedBatchCallFailsEveryMember) {
  Fixture f(2);
  core::Response failed = core::Response::text(502, "upstream \"legacy\" refused the connection");
  failed.upstream_failed = true;
  f.inner.then(failed);
  auto a = f.post("{\"n\":1}");
  auto b = f.post("{\"n\":2}");
  test::poll(f.io);
  EXPECT_EQ(a->status(), 502);
  EXPECT_EQ(b->status(), 502);
  EXPECT_EQ(f.counters->items(ItemOutcomeKind::batch_failed), 2u);
  EXPECT_EQ(f.counters->calls(CallOutcome::call_failed), 1u);
}

}  // namespace
}  // namespace levee::layers::batch
