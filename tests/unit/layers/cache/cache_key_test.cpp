#include "layers/cache/cache_key.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace levee::layers::cache {
namespace {

core::Request request(std::string method, std::string target,
                      std::vector<core::Header> headers = {}, std::string host = "api.example") {
  core::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.headers.add("Host", host);
  for (const auto& h : headers) r.headers.add(h.name, h.value);
  return r;
}

const std::vector<std::string> k_vary = {"accept", "accept-encoding"};

TEST(CacheKey, GetAndHeadShareAKey) {
  EXPECT_EQ(primary_key(request("GET", "/a?x=1")).primary,
            primary_key(request("HEAD", "/a?x=1")).primary);
  EXPECT_NE(primary_key(request("GET", "/a?x=1")).primary,
            primary_key(request("POST", "/a?x=1")).primary);
}

TEST(CacheKey, PrimaryKeyIsPrefixedAndReadable) {
  const CacheKey key = primary_key(request("GET", "/a?x=1", {}, "API.Example:8080"));
  EXPECT_TRUE(key.primary.starts_with(k_key_prefix));
  EXPECT_NE(key.primary.find("api.example:8080/a?x=1"), std::string::npos);
  EXPECT_EQ(key.path, path_key("api.example:8080", "/a"));
}

TEST(CacheKey, EveryComponentSeparatesKeys) {
  const std::string base = primary_key(request("GET", "/a?x=1")).primary;
  EXPECT_NE(base, primary_key(request("GET", "/a?x=2")).primary);
  EXPECT_NE(base, primary_key(request("GET", "/b?x=1")).primary);
  EXPECT_NE(base, primary_key(request("GET", "/a")).primary);
  EXPECT_NE(base, primary_key(request("GET", "/a?x=1", {}, "other.example")).primary);
  // Host case does not matter, headers outside Vary do not either.
  EXPECT_EQ(base, primary_key(request("GET", "/a?x=1", {{"X-Trace", "1"}}, "API.EXAMPLE")).primary);
  // Host and target cannot run into each other.
  EXPECT_NE(primary_key(request("GET", "/b", {}, "a")).primary,
            primary_key(request("GET", "b", {}, "a/")).primary);
}

TEST(CacheKey, QueryStringsShareAPathKey) {
  EXPECT_EQ(primary_key(request("GET", "/a?x=1")).path, primary_key(request("GET", "/a?y=2")).path);
  EXPECT_NE(primary_key(request("GET", "/a?x=1")).path, primary_key(request("GET", "/ab")).path);
}

TEST(CacheKey, LongTargetsAreBounded) {
  const std::string long_target = "/" + std::string(100000, 'x');
  const CacheKey a = primary_key(request("GET", long_target + "?1"));
  const CacheKey b = primary_key(request("GET", long_target + "?2"));
  EXPECT_LT(a.primary.size(), 64U);
  EXPECT_LT(a.path.size(), 64U);
  EXPECT_NE(a.primary, b.primary);
  EXPECT_EQ(a.path, b.path);
  EXPECT_TRUE(a.primary.starts_with(k_key_prefix));
  const std::string variant = variant_key(
      a.primary, k_vary, request("GET", long_target, {{"Accept", std::string(50000, 'a')}}));
  EXPECT_LT(variant.size(), 100U);
}

TEST(CacheKey, VariantKeyFollowsVaryHeaders) {
  const std::string primary = primary_key(request("GET", "/a")).primary;
  EXPECT_EQ(variant_key(primary, {}, request("GET", "/a", {{"Accept", "x"}})), primary);

  const std::string json = variant_key(primary, k_vary, request("GET", "/a", {{"Accept", "json"}}));
  EXPECT_TRUE(json.starts_with(primary));
  EXPECT_EQ(json, variant_key(primary, k_vary, request("GET", "/a", {{"accept", "json"}})));
  EXPECT_EQ(json, variant_key(primary, k_vary,
                              request("GET", "/a", {{"Accept", "json"}, {"Cookie", "c"}})));
  EXPECT_NE(json, variant_key(primary, k_vary, request("GET", "/a", {{"Accept", "xml"}})));
  EXPECT_NE(json,
            variant_key(primary, k_vary,
                        request("GET", "/a", {{"Accept", "json"}, {"Accept-Encoding", "br"}})));
  // Absent and empty differ; the Vary names themselves are part of the key.
  EXPECT_NE(variant_key(primary, k_vary, request("GET", "/a")),
            variant_key(primary, k_vary, request("GET", "/a", {{"Accept", ""}})));
  const std::vector<std::string> other = {"accept"};
  EXPECT_NE(json, variant_key(primary, other, request("GET", "/a", {{"Accept", "json"}})));
  // Field order within one name counts; values cannot run together.
  EXPECT_NE(variant_key(primary, k_vary, request("GET", "/a", {{"Accept", "a"}, {"Accept", "b"}})),
            variant_key(primary, k_vary, request("GET", "/a", {{"Accept", "b"}, {"Accept", "a"}})));
  EXPECT_NE(variant_key(primary, k_vary, request("GET", "/a", {{"Accept", "ab"}})),
            variant_key(primary, k_vary, request("GET", "/a", {{"Accept", "a"}, {"Accept", "b"}})));
}

TEST(CacheKey, ParseVaryNormalises) {
  core::Headers headers;
  headers.add("Vary", " Accept-Encoding ,ACCEPT,, accept");
  headers.add("vary", "X-Tenant");
  const VaryNames vary = parse_vary(headers);
  EXPECT_FALSE(vary.star);
  EXPECT_EQ(vary.names, (std::vector<std::string>{"accept", "accept-encoding", "x-tenant"}));

  core::Headers star;
  star.add("Vary", "accept, *");
  EXPECT_TRUE(parse_vary(star).star);
  EXPECT_TRUE(parse_vary(core::Headers{}).names.empty());

  core::Headers hostile;
  hostile.add("Vary", std::string(100000, ','));
  EXPECT_TRUE(parse_vary(hostile).names.empty());
  std::string many;
  for (int i = 0; i < 10000; ++i) many += "h" + std::to_string(i) + ",";
  hostile.add("Vary", many);
  const VaryNames capped = parse_vary(hostile);
  EXPECT_TRUE(capped.star);
  EXPECT_LE(capped.names.size(), k_max_vary_names + 1);
}

core::Request grpc_call(std::string message, std::vector<core::Header> headers = {},
                        std::string path = "/pkg.Users/Get", std::string host = "api.example") {
  core::Request r = request("POST", std::move(path), std::move(headers), std::move(host));
  r.headers.add("content-type", "application/grpc");
  r.body = std::move(message);
  return r;
}

TEST(CacheKey, TheSameGrpcCallHasTheSameKey) {
  const CacheKey a = grpc_call_key(grpc_call(std::string("\0\0\0\0\x02hi", 7)));
  const CacheKey b = grpc_call_key(grpc_call(
      std::string("\0\0\0\0\x02hi", 7), {{"grpc-timeout", "5S"}}, "/pkg.Users/Get", "API.Example"));
  EXPECT_EQ(a.primary, b.primary) << "Host case and metadata outside the key do not matter";
  EXPECT_TRUE(a.primary.starts_with(std::string(k_key_prefix) + "c:"));
  EXPECT_EQ(a.path, path_key("api.example", "/pkg.Users/Get"));
}

TEST(CacheKey, EveryPartOfAGrpcCallSeparatesKeys) {
  const std::string base = grpc_call_key(grpc_call("one")).primary;
  EXPECT_NE(base, grpc_call_key(grpc_call("two")).primary);
  EXPECT_NE(base, grpc_call_key(grpc_call("")).primary);
  EXPECT_NE(base, grpc_call_key(grpc_call("one", {}, "/pkg.Users/List")).primary);
  EXPECT_NE(base, grpc_call_key(grpc_call("one", {}, "/pkg.Users/Get", "other.example")).primary);
  const std::string alice = grpc_call_key(grpc_call("one", {{"authorization", "alice"}})).primary;
  EXPECT_NE(base, alice);
  EXPECT_NE(alice, grpc_call_key(grpc_call("one", {{"Authorization", "bob"}})).primary);
  EXPECT_EQ(alice, grpc_call_key(grpc_call("one", {{"Authorization", "alice"}})).primary);
  EXPECT_NE(base, grpc_call_key(grpc_call("one", {{"authorization", ""}})).primary)
      << "absent and empty differ";
  // The message and the credential cannot run into each other.
  EXPECT_NE(grpc_call_key(grpc_call("ab", {{"authorization", "c"}})).primary,
            grpc_call_key(grpc_call("a", {{"authorization", "bc"}})).primary);
}

TEST(CacheKey, AGrpcCallNeverMeetsAGetOrAnotherPost) {
  core::Request call = grpc_call("");
  const std::string grpc = grpc_call_key(call).primary;
  EXPECT_NE(grpc, primary_key(request("GET", "/pkg.Users/Get")).primary);
  EXPECT_NE(grpc, primary_key(call).primary) << "the plain POST key";
  // Long ones are hashed under their own class too.
  const std::string long_path = "/" + std::string(500, 'x');
  const std::string long_grpc = grpc_call_key(grpc_call("m", {}, long_path)).primary;
  EXPECT_LT(long_grpc.size(), 64U);
  EXPECT_NE(long_grpc, primary_key(request("GET", long_path)).primary);
  EXPECT_TRUE(long_grpc.starts_with(std::string(k_key_prefix) + "c#"));
}

TEST(CacheKey, ALongMessageIsHashedNotCopied) {
  const std::string message(100000, 'm');
  const CacheKey key = grpc_call_key(grpc_call(message));
  EXPECT_LT(key.primary.size(), 128U);
  EXPECT_NE(key.primary, grpc_call_key(grpc_call(message + "n")).primary);
}

}  // namespace
}  // namespace levee::layers::cache
