#include "layers/cache/storability.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "layers/cache/cache_key.hpp"

namespace levee::layers::cache {
namespace {

using std::chrono::seconds;

RouteCacheRules rules() {
  RouteCacheRules r;
  r.ttl = seconds{10};
  r.stale_while_revalidate = seconds{5};
  r.max_entry_bytes = 1000;
  return r;
}

core::Request get(std::vector<core::Header> headers = {}) {
  core::Request request;
  request.method = "GET";
  request.target = "/a?x=1";
  request.headers.add("Host", "api.example");
  for (const auto& h : headers) request.headers.add(h.name, h.value);
  return request;
}

core::Response ok(std::vector<core::Header> headers = {}, std::string body = "hello") {
  core::Response response;
  response.status = 200;
  for (const auto& h : headers) response.headers.add(h.name, h.value);
  response.body = std::make_shared<const std::string>(std::move(body));
  return response;
}

std::optional<Refusal> refusal(const core::Request& request, const core::Response& response,
                               const RouteCacheRules& r = rules()) {
  return decide_storage(request, response, r).refusal;
}

TEST(CacheStorability, PlainGetUsesTheRouteTtlAndStaleWindow) {
  const StorageDecision d = decide_storage(get(), ok(), rules());
  ASSERT_TRUE(d.storable());
  EXPECT_EQ(d.plan.fresh_for, seconds{10});
  EXPECT_EQ(d.plan.stale_for, seconds{5});
  EXPECT_EQ(d.plan.initial_age, Duration::zero());
  EXPECT_TRUE(d.plan.vary.empty());
}

TEST(CacheStorability, OnlyGetIsStored) {
  for (const char* method : {"HEAD", "POST", "PUT", "DELETE", "OPTIONS", "get"}) {
    core::Request request = get();
    request.method = method;
    EXPECT_EQ(refusal(request, ok()), Refusal::method) << method;
  }
}

TEST(CacheStorability, OnlyCacheableStatuses) {
  for (int status : {200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501}) {
    core::Response response = ok();
    response.status = status;
    EXPECT_FALSE(refusal(get(), response)) << status;
  }
  for (int status : {100, 201, 202, 206, 302, 303, 304, 307, 400, 401, 403, 429, 500, 502, 503}) {
    core::Response response = ok();
    response.status = status;
    EXPECT_EQ(refusal(get(), response), Refusal::status) << status;
  }
}

TEST(CacheStorability, SetCookieIsNeverStored) {
  EXPECT_EQ(refusal(get(), ok({{"Set-Cookie", "a=b"}, {"Cache-Control", "public, max-age=60"}})),
            Refusal::set_cookie);
  RouteCacheRules ignore = rules();
  ignore.honour_cache_control = false;
  EXPECT_EQ(refusal(get(), ok({{"set-cookie", "a=b"}}), ignore), Refusal::set_cookie);
}

TEST(CacheStorability, VaryStarIsNotStored) {
  EXPECT_EQ(refusal(get(), ok({{"Vary", "Accept, *"}})), Refusal::vary_star);
  std::string many;
  for (std::size_t i = 0; i <= k_max_vary_names; ++i) many += "x-h" + std::to_string(i) + ",";
  EXPECT_EQ(refusal(get(), ok({{"Vary", many}})), Refusal::vary_star);
}

TEST(CacheStorability, VaryNamesAreReturnedNormalised) {
  const StorageDecision d = decide_storage(
      get(), ok({{"Vary", "Accept-Encoding, accept"}, {"vary", "X-Tenant"}}), rules());
  ASSERT_TRUE(d.storable());
  EXPECT_EQ(d.plan.vary, (std::vector<std::string>{"accept", "accept-encoding", "x-tenant"}));
}

TEST(CacheStorability, NoStoreInResponseOrRequest) {
  EXPECT_EQ(refusal(get(), ok({{"Cache-Control", "no-store"}})), Refusal::no_store);
  EXPECT_EQ(refusal(get({{"Cache-Control", "no-store"}}), ok()), Refusal::no_store);
}

TEST(CacheStorability, NoCacheAndPrivate) {
  EXPECT_EQ(refusal(get(), ok({{"Cache-Control", "no-cache"}})), Refusal::no_cache);
  EXPECT_EQ(refusal(get(), ok({{"Cache-Control", "private, max-age=60"}})), Refusal::private_);
  EXPECT_EQ(to_string(Refusal::private_), "private");
}

TEST(CacheStorability, AuthorizationNeedsExplicitPermission) {
  const core::Request authed = get({{"Authorization", "Bearer t"}});
  EXPECT_EQ(refusal(authed, ok()), Refusal::authorization);
  EXPECT_EQ(refusal(authed, ok({{"Cache-Control", "max-age=60"}})), Refusal::authorization);
  EXPECT_FALSE(refusal(authed, ok({{"Cache-Control", "public"}})));
  EXPECT_FALSE(refusal(authed, ok({{"Cache-Control", "s-maxage=60"}})));
  EXPECT_FALSE(refusal(authed, ok({{"Cache-Control", "must-revalidate"}})));
  RouteCacheRules ignore = rules();
  ignore.honour_cache_control = false;
  EXPECT_EQ(refusal(authed, ok({{"Cache-Control", "public"}}), ignore), Refusal::authorization);
}

TEST(CacheStorability, TooLarge) {
  EXPECT_EQ(refusal(get(), ok({}, std::string(1001, 'x'))), Refusal::too_large);
  // Headers count too.
  EXPECT_EQ(refusal(get(), ok({{"X-Big", std::string(990, 'h')}}, "0123456789")),
            Refusal::too_large);
  EXPECT_FALSE(refusal(get(), ok({}, std::string(900, 'x'))));
}

TEST(CacheStorability, LifetimeComesFromSMaxageThenMaxAgeThenTtl) {
  StorageDecision d =
      decide_storage(get(), ok({{"Cache-Control", "max-age=60, s-maxage=30"}}), rules());
  ASSERT_TRUE(d.storable());
  EXPECT_EQ(d.plan.fresh_for, seconds{30});
  EXPECT_EQ(d.plan.stale_for, Duration::zero());  // s-maxage implies proxy-revalidate

  d = decide_storage(get(), ok({{"Cache-Control", "max-age=60"}}), rules());
  EXPECT_EQ(d.plan.fresh_for, seconds{60});
  EXPECT_EQ(d.plan.stale_for, seconds{5});  // the route's

  d = decide_storage(get(), ok({{"Cache-Control", "max-age=60, stale-while-revalidate=2"}}),
                     rules());
  EXPECT_EQ(d.plan.stale_for, seconds{2});  // the response's own

  d = decide_storage(get(), ok({{"Cache-Control", "s-maxage=60, stale-while-revalidate=2"}}),
                     rules());
  EXPECT_EQ(d.plan.stale_for, seconds{2});

  d = decide_storage(
      get(), ok({{"Cache-Control", "max-age=60, must-revalidate, stale-while-revalidate=9"}}),
      rules());
  EXPECT_EQ(d.plan.stale_for, Duration::zero());
}

TEST(CacheStorability, AgeIsTimeAlreadySpent) {
  const StorageDecision d =
      decide_storage(get(), ok({{"Cache-Control", "max-age=60"}, {"Age", "20"}}), rules());
  ASSERT_TRUE(d.storable());
  EXPECT_EQ(d.plan.initial_age, seconds{20});
  EXPECT_EQ(refusal(get(), ok({{"Cache-Control", "max-age=60"}, {"Age", "65"}})), Refusal::expired);
  // Garbage Age is ignored.
  EXPECT_EQ(decide_storage(get(), ok({{"Age", "soon"}}), rules()).plan.initial_age,
            Duration::zero());
}

TEST(CacheStorability, NothingToServeIsNotStored) {
  RouteCacheRules zero = rules();
  zero.ttl = Duration::zero();
  zero.stale_while_revalidate = Duration::zero();
  EXPECT_EQ(refusal(get(), ok(), zero), Refusal::expired);
  EXPECT_EQ(refusal(get(), ok({{"Cache-Control", "max-age=0"}}), zero), Refusal::expired);
  // max-age=0 with a stale window: stored stale, served while revalidating.
  EXPECT_FALSE(refusal(get(), ok({{"Cache-Control", "max-age=0, stale-while-revalidate=30"}})));
  EXPECT_EQ(refusal(get(), ok({{"Cache-Control", "max-age=oops"}}), zero), Refusal::expired);
}

TEST(CacheStorability, IgnoringCacheControlUsesTheRoute) {
  RouteCacheRules ignore = rules();
  ignore.honour_cache_control = false;
  const StorageDecision d = decide_storage(
      get({{"Cache-Control", "no-store"}}),
      ok({{"Cache-Control", "no-store, private, max-age=999"}, {"Age", "3"}}), ignore);
  ASSERT_TRUE(d.storable());
  EXPECT_EQ(d.plan.fresh_for, seconds{10});
  EXPECT_EQ(d.plan.stale_for, seconds{5});
  EXPECT_EQ(d.plan.initial_age, Duration::zero());
}

TEST(CacheStorability, MakeCachedResponseSharesTheBodyAndDropsAge) {
  const core::Response response = ok({{"Content-Type", "text/plain"}, {"Age", "4"}});
  const StorageDecision d = decide_storage(get(), response, rules());
  ASSERT_TRUE(d.storable());
  const TimePoint now = TimePoint{} + seconds{1000};
  const CachedResponse cached = make_cached_response(response, d.plan, now);
  EXPECT_EQ(cached.status, 200);
  EXPECT_EQ(cached.body.get(), response.body.get());
  EXPECT_FALSE(cached.headers.contains("Age"));
  EXPECT_TRUE(cached.headers.frozen());
  EXPECT_EQ(cached.stored_at, now - seconds{4});
  EXPECT_EQ(cached.age_seconds(now), 4);
  EXPECT_EQ(cached.fresh_for, seconds{10});
}

core::Request grpc_call(std::vector<core::Header> headers = {}) {
  core::Request request;
  request.method = "POST";
  request.target = "/pkg.Users/Get";
  request.headers.add("Host", "api.example");
  request.headers.add("content-type", "application/grpc");
  for (const auto& h : headers) request.headers.add(h.name, h.value);
  request.body = std::string("\0\0\0\0\x01q", 6);
  return request;
}

// A unary answer: one length-prefixed message, grpc-status in the trailers.
core::Response grpc_answer(std::string grpc_status = "0", std::vector<core::Header> headers = {},
                           std::string message = "hello") {
  core::Response response;
  response.status = 200;
  response.headers.add("content-type", "application/grpc");
  for (const auto& h : headers) response.headers.add(h.name, h.value);
  std::string body(5, '\0');
  body[4] = static_cast<char>(message.size());
  body += message;
  response.body = std::make_shared<const std::string>(std::move(body));
  if (!grpc_status.empty()) response.trailers.add("grpc-status", grpc_status);
  return response;
}

std::optional<Refusal> grpc_refusal(const core::Request& request, const core::Response& response,
                                    const RouteCacheRules& r = rules()) {
  return decide_grpc_storage(request, response, r).refusal;
}

TEST(CacheStorability, AGrpcOkAnswerIsStoredWithTheRouteTtl) {
  const StorageDecision d = decide_grpc_storage(grpc_call(), grpc_answer(), rules());
  ASSERT_TRUE(d.storable());
  EXPECT_EQ(d.plan.fresh_for, seconds{10});
  // The trailers go into the entry.
  core::Response answer = grpc_answer();
  answer.trailers.add("x-served-by", "s1");
  const CachedResponse entry = make_cached_response(answer, d.plan, TimePoint{});
  ASSERT_EQ(entry.trailers.size(), 2U);
  EXPECT_EQ(*entry.trailers.find("x-served-by"), "s1");
  EXPECT_TRUE(entry.trailers.frozen());
}

TEST(CacheStorability, AGrpcErrorIsNotStored) {
  EXPECT_EQ(grpc_refusal(grpc_call(), grpc_answer("5")), Refusal::grpc_status);
  EXPECT_EQ(grpc_refusal(grpc_call(), grpc_answer("14")), Refusal::grpc_status);
  EXPECT_EQ(grpc_refusal(grpc_call(), grpc_answer("")), Refusal::grpc_status) << "no grpc-status";
  EXPECT_EQ(grpc_refusal(grpc_call(), grpc_answer("00")), Refusal::grpc_status);
  // A trailers-only error (grpc-status among the headers).
  core::Response trailers_only;
  trailers_only.headers.add("content-type", "application/grpc");
  trailers_only.headers.add("grpc-status", "7");
  EXPECT_EQ(grpc_refusal(grpc_call(), trailers_only), Refusal::grpc_status);
  // Only HTTP 200 carries a gRPC answer.
  core::Response not_ok = grpc_answer();
  not_ok.status = 203;
  EXPECT_EQ(grpc_refusal(grpc_call(), not_ok), Refusal::status);
}

TEST(CacheStorability, OnlyAUnaryGrpcAnswerIsStored) {
  // A trailers-only OK has no message; two messages are a server stream; a cut one is malformed.
  core::Response trailers_only;
  trailers_only.headers.add("grpc-status", "0");
  EXPECT_EQ(grpc_refusal(grpc_call(), trailers_only), Refusal::grpc_stream);
  core::Response two = grpc_answer();
  two.body = std::make_shared<const std::string>(*two.body + *two.body);
  EXPECT_EQ(grpc_refusal(grpc_call(), two), Refusal::grpc_stream);
  core::Response cut = grpc_answer();
  cut.body = std::make_shared<const std::string>(cut.body->substr(0, cut.body->size() - 1));
  EXPECT_EQ(grpc_refusal(grpc_call(), cut), Refusal::grpc_stream);
  // An empty message is still one message.
  EXPECT_FALSE(grpc_refusal(grpc_call(), grpc_answer("0", {}, "")));
}

TEST(CacheStorability, AGrpcAnswerFollowsTheHttpRules) {
  EXPECT_EQ(grpc_refusal(grpc_call(), grpc_answer("0", {{"Set-Cookie", "s=1"}})),
            Refusal::set_cookie);
  EXPECT_EQ(grpc_refusal(grpc_call(), grpc_answer("0", {{"Cache-Control", "no-store"}})),
            Refusal::no_store);
  EXPECT_EQ(grpc_refusal(grpc_call(), grpc_answer("0", {{"Cache-Control", "private"}})),
            Refusal::private_);
  EXPECT_EQ(grpc_refusal(grpc_call(), grpc_answer("0", {}, std::string(120, 'x')),
                         [] {
                           RouteCacheRules small = rules();
                           small.max_entry_bytes = 100;
                           return small;
                         }()),
            Refusal::too_large);
  const StorageDecision d = decide_grpc_storage(
      grpc_call(), grpc_answer("0", {{"Cache-Control", "max-age=60"}}), rules());
  ASSERT_TRUE(d.storable());
  EXPECT_EQ(d.plan.fresh_for, seconds{60});
  RouteCacheRules ignore = rules();
  ignore.honour_cache_control = false;
  EXPECT_FALSE(
      grpc_refusal(grpc_call(), grpc_answer("0", {{"Cache-Control", "no-store"}}), ignore));
}

TEST(CacheStorability, AGrpcCallWithAuthorizationIsStoredUnderItsCredential) {
  // The key holds the credential (grpc_call_key), so no public / s-maxage is needed.
  const core::Request authed = grpc_call({{"authorization", "Bearer alice"}});
  EXPECT_FALSE(grpc_refusal(authed, grpc_answer()));
  EXPECT_NE(grpc_call_key(authed).primary, grpc_call_key(grpc_call()).primary);
  // A GET with Authorization keeps RFC 9111 3.5's rule.
  EXPECT_EQ(refusal(get({{"Authorization", "Bearer alice"}}), ok()), Refusal::authorization);
}

}  // namespace
}  // namespace levee::layers::cache
