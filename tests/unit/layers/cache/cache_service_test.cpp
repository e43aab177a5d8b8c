// CacheService over a memory store and a fake inner service, with freshness decided by a
// manual clock: miss, hit, stale-while-revalidate (one refresh per key), expiry, invalidation
// by a non-GET, the answers that are never stored, and gRPC unary calls on a grpc route.

#include "layers/cache/cache_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "admin/metrics.hpp"
#include "common/fake_service.hpp"
#include "common/manual_clock.hpp"

namespace levee::layers::cache {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::FakeService;
using test::make_request;

struct Fixture {
  explicit Fixture(Duration ttl = 10s, Duration stale_while_revalidate = 0s, bool grpc = false)
      : shared(make_shared_state(ttl, stale_while_revalidate, grpc)) {
    inner.respond_with([this](const core::Request& request) {
      return core::Response::with_body(200, "text/plain",
                                       request.target + " v" + std::to_string(version));
    });
  }

  CacheShared make_shared_state(Duration ttl, Duration stale_while_revalidate, bool grpc) {
    auto rules = std::make_shared<CacheRules>();
    rules->grpc = grpc;
    rules->storage.ttl = ttl;
    rules->storage.stale_while_revalidate = stale_while_revalidate;
    auto counters = std::make_shared<CacheCounters>();
    for (std::size_t i = 0; i < lookups.size(); ++i) counters->lookups[i] = &lookups[i];
    counters->stored = &stored;
    counters->not_stored = &not_stored;
    counters->invalidated = &invalidated;
    CacheShared made;
    made.store = std::make_shared<MemoryStore>(std::uint64_t{1} << 20);
    made.rules = std::move(rules);
    made.counters = std::move(counters);
    return made;
  }

  // One request through the layer, run to its answer (the inner service answers at once
  // unless held).
  core::Response call(core::Request request) {
    auto answered = test::spawn_call(io, service, std::move(request));
    test::poll(io);
    EXPECT_TRUE(answered->response.has_value());
    return answered->response.value_or(core::Response::text(0, "no answer"));
  }
  core::Response get(std::string target) { return call(make_request("GET", std::move(target))); }
  [[nodiscard]] std::uint64_t count(CacheResult result) const {
    return lookups[static_cast<std::size_t>(result)].value();
  }

  test::ManualClock clock;
  std::array<admin::Counter, k_cache_results> lookups;
  admin::Counter stored;
  admin::Counter not_stored;
  admin::Counter invalidated;
  CacheShared shared;
  int version = 1;  // what the inner service's answers say
  FakeService inner;
  CacheService<FakeService> service{inner, shared, nullptr, clock.function()};
  // Last: destroyed first, with any background refresh frame that still refers to `service`.
  asio::io_context io;
};

std::string cache_header(const core::Response& response) {
  const std::string* value = response.headers.find(k_cache_header);
  return value ? *value : std::string("(none)");
}

TEST(CacheService, AMissIsStoredAndTheNextGetIsAHit) {
  Fixture f;
  core::Response first = f.get("/a");
  EXPECT_EQ(cache_header(first), "miss");
  EXPECT_EQ(first.body_view(), "/a v1");
  f.version = 2;
  f.clock.advance(5s);
  core::Response second = f.get("/a");
  EXPECT_EQ(cache_header(second), "hit");
  EXPECT_EQ(second.body_view(), "/a v1");
  const std::string* age = second.headers.find("Age");
  ASSERT_NE(age, nullptr);
  EXPECT_EQ(*age, "5");
  EXPECT_EQ(f.inner.calls(), 1u);
  EXPECT_EQ(f.count(CacheResult::miss), 1u);
  EXPECT_EQ(f.count(CacheResult::hit), 1u);
  EXPECT_EQ(f.stored.value(), 1u);
}

TEST(CacheService, AHeadIsAnsweredFromAStoredGet) {
  Fixture f;
  (void)f.get("/a");
  core::Response head = f.call(make_request("HEAD", "/a"));
  EXPECT_EQ(cache_header(head), "hit");
  EXPECT_EQ(head.body_size(), 0u);
  EXPECT_EQ(f.inner.calls(), 1u);
}

TEST(CacheService, AnExpiredEntryIsAMissAgain) {
  Fixture f(10s);
  (void)f.get("/a");
  f.version = 2;
  f.clock.advance(10s + 1ms);
  core::Response after = f.get("/a");
  EXPECT_EQ(cache_header(after), "miss");
  EXPECT_EQ(after.body_view(), "/a v2");
  EXPECT_EQ(f.inner.calls(), 2u);
}

TEST(CacheService, AStaleEntryIsAnsweredAndRefreshedOnceInTheBackground) {
  Fixture f(10s, 30s);
  (void)f.get("/a");
  f.clock.advance(15s);
  f.version = 2;
  f.inner.hold();  // the refresh stays under way while more stale requests come

  core::Response stale = f.get("/a");
  EXPECT_EQ(cache_header(stale), "stale");
  EXPECT_EQ(stale.body_view(), "/a v1") << "answered at once, from the stale entry";
  EXPECT_EQ(f.inner.calls(), 2u) << "one background refresh";
  core::Response again = f.get("/a");
  EXPECT_EQ(cache_header(again), "stale");
  EXPECT_EQ(f.inner.calls(), 2u) << "one refresh per key at a time";

  f.inner.release_all();
  test::poll(f.io);
  core::Response refreshed = f.get("/a");
  EXPECT_EQ(cache_header(refreshed), "hit");
  EXPECT_EQ(refreshed.body_view(), "/a v2");
  EXPECT_EQ(f.inner.calls(), 2u);
  EXPECT_EQ(f.count(CacheResult::stale), 2u);
}

TEST(CacheService, PastTheStaleWindowIsAMiss) {
  Fixture f(10s, 30s);
  (void)f.get("/a");
  f.clock.advance(40s + 1ms);
  EXPECT_EQ(cache_header(f.get("/a")), "miss");
  EXPECT_EQ(f.inner.calls(), 2u);
  EXPECT_EQ(f.count(CacheResult::stale), 0u);
}

TEST(CacheService, ASuccessfulNonGetDropsTheCachedGetsOfItsPath) {
  Fixture f;
  (void)f.get("/items/1");
  (void)f.get("/items/1?view=full");
  (void)f.get("/items/2");
  core::Response posted = f.call(make_request("POST", "/items/1"));
  EXPECT_EQ(posted.status, 200);
  EXPECT_EQ(f.invalidated.value(), 2u);
  EXPECT_EQ(cache_header(f.get("/items/1")), "miss");
  EXPECT_EQ(cache_header(f.get("/items/1?view=full")), "miss");
  EXPECT_EQ(cache_header(f.get("/items/2")), "hit") << "another path stays";
}

TEST(CacheService, AFailedNonGetInvalidatesNothing) {
  Fixture f;
  (void)f.get("/items/1");
  f.inner.then(core::Response::text(500, "failed"));
  EXPECT_EQ(f.call(make_request("PUT", "/items/1")).status, 500);
  EXPECT_EQ(f.invalidated.value(), 0u);
  EXPECT_EQ(cache_header(f.get("/items/1")), "hit");
}

// The inner service answers the first GET with `name: value`; the second GET must go upstream.
void expect_not_stored(std::string_view name, std::string_view value) {
  Fixture f;
  core::Response answer = core::Response::text(200, "personal");
  answer.headers.add(name, value);
  f.inner.then(answer);
  EXPECT_EQ(cache_header(f.get("/me")), "miss");
  EXPECT_EQ(cache_header(f.get("/me")), "miss") << name << ": " << value;
  EXPECT_EQ(f.inner.calls(), 2u);
  EXPECT_EQ(f.stored.value(), 1u) << "only the second, plain answer";
  EXPECT_EQ(f.not_stored.value(), 1u);
}

TEST(CacheService, AnAnswerWithSetCookieIsNotStored) { expect_not_stored("Set-Cookie", "s=1"); }

TEST(CacheService, AnAnswerWithNoStoreIsNotStored) {
  expect_not_stored("Cache-Control", "no-store");
}

TEST(CacheService, APrivateAnswerIsNotStored) { expect_not_stored("Cache-Control", "private"); }

TEST(CacheService, AnUpstreamFailureIsNotStored) {
  Fixture f;
  core::Response failed = core::Response::text(404, "upstream legacy refused");
  failed.upstream_failed = true;
  f.inner.then(failed);
  EXPECT_EQ(f.get("/a").status, 404);
  EXPECT_EQ(cache_header(f.get("/a")), "miss");
  EXPECT_EQ(f.stored.value(), 1u);
}

TEST(CacheService, ARouteWithoutAStorePassesThrough) {
  Fixture f;
  f.shared.store = nullptr;
  CacheService<FakeService> passing(f.inner, f.shared, nullptr, f.clock.function());
  for (int i = 0; i < 2; ++i) {
    auto answered = test::spawn_call(f.io, passing, make_request("GET", "/a"));
    test::poll(f.io);
    ASSERT_TRUE(answered->response.has_value());
    EXPECT_EQ(answered->response->headers.find(k_cache_header), nullptr);
  }
  EXPECT_EQ(f.inner.calls(), 2u);
}

// A gRPC unary call: a POST of one length-prefixed message.
core::Request grpc_call(std::string message, std::string path = "/pkg.Users/Get") {
  core::Request request = make_request("POST", std::move(path));
  request.headers.add("content-type", "application/grpc");
  request.body = std::string(4, '\0') + static_cast<char>(message.size()) + message;
  return request;
}

// The inner service's gRPC answer: the call's message echoed, `grpc-status` in the trailers.
core::Response grpc_answer(const core::Request& call, int version, std::string grpc_status) {
  const std::string echoed = call.body.substr(5) + " v" + std::to_string(version);
  core::Response response;
  response.headers.add("content-type", "application/grpc");
  response.body = std::make_shared<const std::string>(std::string(4, '\0') +
                                                      static_cast<char>(echoed.size()) + echoed);
  response.trailers.add("grpc-status", grpc_status);
  response.trailers.add("x-served-by", "v" + std::to_string(version));
  return response;
}

struct GrpcFixture : Fixture {
  GrpcFixture() : Fixture(10s, 0s, true) {
    inner.respond_with([this](const core::Request& request) {
      return grpc_answer(request, version, grpc_status);
    });
  }
  std::string grpc_status = "0";
};

TEST(CacheService, AGrpcCallIsStoredAndAnsweredWithItsTrailers) {
  GrpcFixture f;
  core::Response first = f.call(grpc_call("q1"));
  EXPECT_EQ(cache_header(first), "miss");
  f.version = 2;
  core::Response second = f.call(grpc_call("q1"));
  EXPECT_EQ(cache_header(second), "hit");
  EXPECT_EQ(second.body_view(), first.body_view());
  EXPECT_EQ(second.body_view().substr(5), "q1 v1");
  ASSERT_NE(second.trailers.find("grpc-status"), nullptr);
  EXPECT_EQ(*second.trailers.find("grpc-status"), "0");
  ASSERT_NE(second.trailers.find("x-served-by"), nullptr);
  EXPECT_EQ(*second.trailers.find("x-served-by"), "v1");
  EXPECT_EQ(f.inner.calls(), 1u);
  EXPECT_EQ(f.stored.value(), 1u);

  // Another message is another call.
  EXPECT_EQ(cache_header(f.call(grpc_call("q2"))), "miss");
  EXPECT_EQ(f.inner.calls(), 2u);
  EXPECT_EQ(f.inner.last().body.substr(5), "q2") << "the message reached the upstream";
}

TEST(CacheService, AGrpcErrorIsNotStored) {
  GrpcFixture f;
  f.grpc_status = "5";
  EXPECT_EQ(cache_header(f.call(grpc_call("q"))), "miss");
  EXPECT_EQ(cache_header(f.call(grpc_call("q"))), "miss");
  EXPECT_EQ(f.inner.calls(), 2u);
  EXPECT_EQ(f.stored.value(), 0u);
  EXPECT_EQ(f.not_stored.value(), 2u);
}

TEST(CacheService, AGrpcCallInvalidatesNothing) {
  GrpcFixture f;
  f.inner.respond_with([&f](const core::Request& request) {
    if (request.method == "GET") return core::Response::with_body(200, "text/plain", "page");
    return grpc_answer(request, f.version, "0");
  });
  (void)f.get("/pkg.Users/Get");
  (void)f.call(grpc_call("q", "/pkg.Users/Get"));
  EXPECT_EQ(f.invalidated.value(), 0u);
  EXPECT_EQ(cache_header(f.get("/pkg.Users/Get")), "hit");
  EXPECT_EQ(cache_header(f.call(grpc_call("q", "/pkg.Users/Get"))), "hit");
  EXPECT_EQ(f.inner.calls(), 2u);
}

TEST(CacheService, AStaleGrpcEntryIsRefreshedWithItsMessage) {
  Fixture f(10s, 30s, true);
  f.inner.respond_with(
      [&f](const core::Request& request) { return grpc_answer(request, f.version, "0"); });
  (void)f.call(grpc_call("q"));
  f.version = 2;
  f.clock.advance(15s);
  EXPECT_EQ(cache_header(f.call(grpc_call("q"))), "stale");
  ASSERT_EQ(f.inner.calls(), 2u) << "one background refresh";
  EXPECT_EQ(f.inner.last().body, grpc_call("q").body);
  EXPECT_EQ(f.inner.last().headers.find("content-type") != nullptr, true);
  const core::Response refreshed = f.call(grpc_call("q"));
  EXPECT_EQ(cache_header(refreshed), "hit");
  EXPECT_EQ(refreshed.body_view().substr(5), "q v2");
}

TEST(CacheService, AGrpcCallOnARouteWithoutGrpcIsAPlainPost) {
  Fixture f;  // grpc = false: the call is a POST like any other
  f.inner.respond_with(
      [&f](const core::Request& request) { return grpc_answer(request, f.version, "0"); });
  EXPECT_EQ(cache_header(f.call(grpc_call("q"))), "(none)");
  EXPECT_EQ(cache_header(f.call(grpc_call("q"))), "(none)");
  EXPECT_EQ(f.inner.calls(), 2u);
  EXPECT_EQ(f.stored.value(), 0u);
}

}  // namespace
}  // namespace levee::layers::cache
