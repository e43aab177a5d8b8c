#include "layers/cache/cache_control.hpp"

#include <gtest/gtest.h>

#include <string>

namespace levee::layers::cache {
namespace {

using std::chrono::seconds;

TEST(CacheControl, ReadsEveryDirective) {
  const CacheControl cc = parse_cache_control(
      "no-store, no-cache, private, public, must-revalidate, proxy-revalidate, max-age=60, "
      "s-maxage=30, stale-while-revalidate=5");
  EXPECT_TRUE(cc.no_store);
  EXPECT_TRUE(cc.no_cache);
  EXPECT_TRUE(cc.private_);
  EXPECT_TRUE(cc.public_);
  EXPECT_TRUE(cc.must_revalidate);
  EXPECT_TRUE(cc.proxy_revalidate);
  EXPECT_EQ(cc.max_age, seconds{60});
  EXPECT_EQ(cc.s_maxage, seconds{30});
  EXPECT_EQ(cc.stale_while_revalidate, seconds{5});
}

TEST(CacheControl, EmptyMeansNothing) {
  const CacheControl cc = parse_cache_control("");
  EXPECT_FALSE(cc.no_store || cc.no_cache || cc.private_ || cc.public_ || cc.must_revalidate);
  EXPECT_FALSE(cc.max_age || cc.s_maxage || cc.stale_while_revalidate);
}

TEST(CacheControl, CaseWhitespaceAndEmptyElementsAreTolerated) {
  const CacheControl cc = parse_cache_control("  ,, PUBLIC ,\tMax-Age = 120 ,,No-Store,  ");
  EXPECT_TRUE(cc.public_);
  EXPECT_TRUE(cc.no_store);
  EXPECT_EQ(cc.max_age, seconds{120});
}

TEST(CacheControl, QuotedArgumentsAreRead) {
  EXPECT_EQ(parse_cache_control("max-age=\"45\"").max_age, seconds{45});
  // A comma inside quotes does not start a new directive.
  const CacheControl cc = parse_cache_control("private=\"set-cookie, x-user\", max-age=10");
  EXPECT_TRUE(cc.private_);
  EXPECT_EQ(cc.max_age, seconds{10});
  const CacheControl escaped = parse_cache_control(R"(x-ext="a\",no-store", public)");
  EXPECT_FALSE(escaped.no_store);
  EXPECT_TRUE(escaped.public_);
}

TEST(CacheControl, QualifiedFormsCountAsUnqualified) {
  EXPECT_TRUE(parse_cache_control("no-cache=\"Set-Cookie\"").no_cache);
  EXPECT_TRUE(parse_cache_control("private=X-User").private_);
}

TEST(CacheControl, UnknownDirectivesAreIgnored) {
  const CacheControl cc = parse_cache_control("immutable, foo=bar, x=\"y,z\", max-age=7");
  EXPECT_EQ(cc.max_age, seconds{7});
  EXPECT_FALSE(cc.no_store);
}

TEST(CacheControl, MalformedLifetimeMeansStale) {
  for (const char* value : {"max-age", "max-age=", "max-age=abc", "max-age=-1", "max-age=1.5",
                            "max-age=12x", "max-age=\"12", "max-age=10 20", "max-age=\"\""}) {
    EXPECT_EQ(parse_cache_control(value).max_age, seconds{0}) << value;
  }
  EXPECT_EQ(parse_cache_control("s-maxage=oops").s_maxage, seconds{0});
  EXPECT_EQ(parse_cache_control("stale-while-revalidate=oops").stale_while_revalidate, seconds{0});
}

TEST(CacheControl, ConflictingDuplicatesMeanStale) {
  EXPECT_EQ(parse_cache_control("max-age=10, max-age=10").max_age, seconds{10});
  EXPECT_EQ(parse_cache_control("max-age=10, max-age=20").max_age, seconds{0});
  EXPECT_EQ(parse_cache_control("s-maxage=10, s-maxage=20").s_maxage, seconds{0});
  EXPECT_EQ(parse_cache_control("stale-while-revalidate=10, stale-while-revalidate=3")
                .stale_while_revalidate,
            seconds{3});
}

TEST(CacheControl, HugeValuesAreClamped) {
  EXPECT_EQ(parse_cache_control("max-age=99999999999999999999999999999").max_age,
            k_max_delta_seconds);
  EXPECT_EQ(parse_cache_control("max-age=2147483647").max_age, seconds{2147483647});
  EXPECT_EQ(parse_delta_seconds("99999999999999999999x"), std::nullopt);
  EXPECT_EQ(parse_delta_seconds(""), std::nullopt);
  EXPECT_EQ(parse_delta_seconds("0"), seconds{0});
}

TEST(CacheControl, SeveralFieldsCombine) {
  core::Headers headers;
  headers.add("Cache-Control", "public");
  headers.add("Content-Type", "text/plain");
  headers.add("cache-control", "max-age=30");
  const CacheControl cc = parse_cache_control(headers);
  EXPECT_TRUE(cc.public_);
  EXPECT_EQ(cc.max_age, seconds{30});

  CacheControl merged;
  merge_cache_control(merged, "max-age=5");
  merge_cache_control(merged, "no-store");
  EXPECT_TRUE(merged.no_store);
  EXPECT_EQ(merged.max_age, seconds{5});
}

TEST(CacheControl, HostileInputsDoNotCrash) {
  const std::string many_commas(100000, ',');
  EXPECT_FALSE(parse_cache_control(many_commas).max_age);
  const std::string long_name(100000, 'a');
  EXPECT_FALSE(parse_cache_control(long_name).no_store);
  EXPECT_FALSE(parse_cache_control("\"\"\"\"\"\\").no_store);
  EXPECT_FALSE(parse_cache_control("=,=,==,\"").no_store);
  EXPECT_EQ(parse_cache_control("max-age=\"\\").max_age, seconds{0});
  const std::string with_nul("no-store\0max-age=5", 18);
  EXPECT_FALSE(parse_cache_control(with_nul).no_store);  // one unknown directive with junk
  std::string many;
  for (int i = 0; i < 10000; ++i) many += "max-age=1,";
  EXPECT_EQ(parse_cache_control(many).max_age, seconds{1});
}

}  // namespace
}  // namespace levee::layers::cache
