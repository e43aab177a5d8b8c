#include "layers/cache/cached_response.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

namespace levee::layers::cache {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint k_t0 = TimePoint{} + seconds{5000};
const WallTimePoint k_wall0 = WallTimePoint{} + seconds{1'700'000'000};

CachedResponse sample() {
  CachedResponse c;
  c.status = 203;
  c.headers.add("Content-Type", "application/json");
  c.headers.add("X-Many", "1");
  c.headers.add("X-Many", "2");
  c.headers.freeze();
  c.body = std::make_shared<const std::string>(std::string("{\"a\":1}\0\xff", 9));
  c.stored_at = k_t0;
  c.fresh_for = seconds{10};
  c.stale_for = seconds{5};
  c.vary = {"accept", "accept-encoding"};
  return c;
}

void expect_same_content(const CachedResponse& a, const CachedResponse& b) {
  EXPECT_EQ(a.status, b.status);
  ASSERT_EQ(a.headers.size(), b.headers.size());
  auto it = b.headers.begin();
  for (const core::Header& h : a.headers) {
    EXPECT_EQ(h.name, it->name);
    EXPECT_EQ(h.value, it->value);
    ++it;
  }
  EXPECT_EQ(a.body ? *a.body : "", b.body ? *b.body : "");
  EXPECT_EQ(a.fresh_for, b.fresh_for);
  EXPECT_EQ(a.stale_for, b.stale_for);
  EXPECT_EQ(a.vary, b.vary);
  ASSERT_EQ(a.trailers.size(), b.trailers.size());
  auto trailer = b.trailers.begin();
  for (const core::Header& h : a.trailers) {
    EXPECT_EQ(h.name, trailer->name);
    EXPECT_EQ(h.value, trailer->value);
    ++trailer;
  }
}

TEST(CachedResponse, FreshThenStaleThenExpired) {
  const CachedResponse c = sample();
  EXPECT_EQ(c.freshness(k_t0), Freshness::fresh);
  EXPECT_EQ(c.freshness(k_t0 + seconds{10} - milliseconds{1}), Freshness::fresh);
  EXPECT_EQ(c.freshness(k_t0 + seconds{10}), Freshness::stale);
  EXPECT_EQ(c.freshness(k_t0 + seconds{15} - milliseconds{1}), Freshness::stale);
  EXPECT_EQ(c.freshness(k_t0 + seconds{15}), Freshness::expired);
  // A clock read before stored_at counts as age 0.
  EXPECT_EQ(c.freshness(k_t0 - seconds{100}), Freshness::fresh);
  EXPECT_EQ(c.retain_for(), seconds{15});
}

TEST(CachedResponse, WithoutStaleWindowGoesStraightToExpired) {
  CachedResponse c = sample();
  c.stale_for = Duration::zero();
  EXPECT_EQ(c.freshness(k_t0 + seconds{9}), Freshness::fresh);
  EXPECT_EQ(c.freshness(k_t0 + seconds{10}), Freshness::expired);
  c.fresh_for = Duration::zero();
  c.stale_for = seconds{3};
  EXPECT_EQ(c.freshness(k_t0), Freshness::stale);
}

TEST(CachedResponse, HugeLifetimesSaturate) {
  CachedResponse c = sample();
  c.fresh_for = Duration::max();
  c.stale_for = Duration::max();
  EXPECT_EQ(c.retain_for(), Duration::max());
  EXPECT_EQ(c.freshness(k_t0 + seconds{1'000'000}), Freshness::fresh);
}

TEST(CachedResponse, AgeSecondsRoundsDown) {
  const CachedResponse c = sample();
  EXPECT_EQ(c.age_seconds(k_t0), 0);
  EXPECT_EQ(c.age_seconds(k_t0 + milliseconds{1999}), 1);
  EXPECT_EQ(c.age_seconds(k_t0 - seconds{3}), 0);
}

TEST(CachedResponse, HitResponseCarriesAge) {
  const CachedResponse c = sample();
  const core::Response hit = make_hit_response(c, k_t0 + seconds{7});
  EXPECT_EQ(hit.status, 203);
  ASSERT_NE(hit.headers.find("Age"), nullptr);
  EXPECT_EQ(*hit.headers.find("Age"), "7");
  EXPECT_EQ(hit.body.get(), c.body.get());
  EXPECT_FALSE(c.headers.contains("Age"));  // the stored entry is untouched
  const core::Response head = make_hit_response(c, k_t0, true);
  EXPECT_EQ(head.body, nullptr);
  EXPECT_EQ(*head.headers.find("Content-Type"), "application/json");
}

TEST(CachedResponse, EncodeDecodeRoundTrip) {
  const CachedResponse c = sample();
  const std::string bytes = encode(c, k_t0 + seconds{2}, k_wall0);
  ASSERT_TRUE(bytes.starts_with(k_encoding_magic));
  auto decoded = decode(bytes, k_t0 + seconds{2}, k_wall0);
  ASSERT_TRUE(decoded.ok()) << to_string(decoded.error());
  expect_same_content(c, decoded.value());
  EXPECT_EQ(decoded.value().stored_at, c.stored_at);
  EXPECT_TRUE(decoded.value().headers.frozen());
}

TEST(CachedResponse, EmptyBodyAndNoHeadersRoundTrip) {
  CachedResponse c;
  c.status = 204;
  c.stored_at = k_t0;
  c.fresh_for = seconds{1};
  auto decoded = decode(encode(c, k_t0, k_wall0), k_t0, k_wall0);
  ASSERT_TRUE(decoded.ok());
  expect_same_content(c, decoded.value());
  EXPECT_EQ(decoded.value().body, nullptr);
}

TEST(CachedResponse, AgeTravelsOnTheWallClock) {
  const CachedResponse c = sample();
  const std::string bytes = encode(c, k_t0 + seconds{3}, k_wall0);
  // Another process: a different steady clock, the same wall clock 4 s later.
  const TimePoint other_now = TimePoint{} + seconds{123};
  auto decoded = decode(bytes, other_now, k_wall0 + seconds{4});
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.value().age(other_now), seconds{7});
  EXPECT_EQ(decoded.value().freshness(other_now), Freshness::fresh);
  EXPECT_EQ(decoded.value().freshness(other_now + seconds{3}), Freshness::stale);
  EXPECT_EQ(decoded.value().freshness(other_now + seconds{8}), Freshness::expired);
  // A reader whose wall clock is behind the writer's sees age 0, not a negative age.
  auto behind = decode(bytes, other_now, k_wall0 - seconds{60});
  ASSERT_TRUE(behind.ok());
  EXPECT_EQ(behind.value().age(other_now), Duration::zero());
}

TEST(CachedResponse, EveryTruncationIsRejected) {
  const std::string bytes = encode(sample(), k_t0, k_wall0);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto decoded = decode(std::string_view(bytes).substr(0, n), k_t0, k_wall0);
    ASSERT_FALSE(decoded.ok()) << n;
    EXPECT_EQ(decoded.error(), DecodeError::truncated) << n;
  }
}

TEST(CachedResponse, TrailingMagicAndVersionAreChecked) {
  const std::string bytes = encode(sample(), k_t0, k_wall0);
  auto trailing = decode(bytes + "x", k_t0, k_wall0);
  ASSERT_FALSE(trailing.ok());
  EXPECT_EQ(trailing.error(), DecodeError::trailing_bytes);

  std::string bad_magic = bytes;
  bad_magic[0] = 'X';
  auto magic = decode(bad_magic, k_t0, k_wall0);
  ASSERT_FALSE(magic.ok());
  EXPECT_EQ(magic.error(), DecodeError::bad_magic);
  EXPECT_EQ(decode("GET / HTTP/1.1", k_t0, k_wall0).error(), DecodeError::bad_magic);

  std::string bad_version = bytes;
  bad_version[4] = static_cast<char>(k_encoding_version + 1);
  auto version = decode(bad_version, k_t0, k_wall0);
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.error(), DecodeError::bad_version);
}

TEST(CachedResponse, TrailersRoundTripAndReachTheHit) {
  CachedResponse c = sample();
  c.status = 200;
  c.trailers.add("grpc-status", "0");
  c.trailers.add("grpc-message", "");
  c.trailers.add("x-served-by", "server-1");
  c.trailers.freeze();
  auto decoded = decode(encode(c, k_t0, k_wall0), k_t0, k_wall0);
  ASSERT_TRUE(decoded.ok()) << to_string(decoded.error());
  expect_same_content(c, decoded.value());
  EXPECT_TRUE(decoded.value().trailers.frozen());

  const core::Response hit = make_hit_response(decoded.value(), k_t0);
  ASSERT_EQ(hit.trailers.size(), 3U);
  EXPECT_EQ(*hit.trailers.find("grpc-status"), "0");
  EXPECT_EQ(*hit.trailers.find("grpc-message"), "");
  EXPECT_EQ(*hit.trailers.find("x-served-by"), "server-1");
  EXPECT_FALSE(hit.headers.contains("grpc-status"));
  EXPECT_GT(c.byte_size(), sample().byte_size());
}

TEST(CachedResponse, TheFirstEncodingVersionIsRefused) {
  // Version 1 had no trailers: an entry it wrote (still in Redis after an upgrade) must not be
  // read as this layout. decode() refuses it and the lookup counts a miss.
  std::string old = encode(sample(), k_t0, k_wall0);
  old[4] = 1;
  auto decoded = decode(old, k_t0, k_wall0);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error(), DecodeError::bad_version);
  EXPECT_EQ(k_encoding_version, 2);
}

// Header of the encoding up to the vary count: magic, version, status, 3 x u64.
std::string prefix(std::uint16_t status, std::uint64_t fresh_ns) {
  std::string s(k_encoding_magic);
  s += static_cast<char>(k_encoding_version);
  s += static_cast<char>(status & 0xff);
  s += static_cast<char>(status >> 8);
  auto u64 = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  u64(1'700'000'000ULL * 1'000'000'000ULL);
  u64(fresh_ns);
  u64(0);
  return s;
}

std::string u32(std::uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

TEST(CachedResponse, HostileCountsAndFieldsAreRejected) {
  // Four billion vary names announced, none present: refused before any allocation.
  auto huge_vary = decode(prefix(200, 0) + u32(0xffffffff), k_t0, k_wall0);
  ASSERT_FALSE(huge_vary.ok());
  EXPECT_EQ(huge_vary.error(), DecodeError::truncated);
  auto huge_headers =
      decode(prefix(200, 0) + u32(0) + u32(0xffffffff) + std::string(64, 'a'), k_t0, k_wall0);
  ASSERT_FALSE(huge_headers.ok());
  EXPECT_EQ(huge_headers.error(), DecodeError::truncated);
  // A body length of 2^64 - 1.
  auto huge_body =
      decode(prefix(200, 0) + u32(0) + u32(0) + std::string(8, '\xff') + "abc", k_t0, k_wall0);
  ASSERT_FALSE(huge_body.ok());
  EXPECT_EQ(huge_body.error(), DecodeError::truncated);

  const std::string empty_rest = u32(0) + u32(0) + std::string(8, '\0') + u32(0);
  EXPECT_TRUE(decode(prefix(200, 0) + empty_rest, k_t0, k_wall0).ok());
  EXPECT_EQ(decode(prefix(99, 0) + empty_rest, k_t0, k_wall0).error(), DecodeError::bad_field);
  EXPECT_EQ(decode(prefix(1000, 0) + empty_rest, k_t0, k_wall0).error(), DecodeError::bad_field);
  EXPECT_EQ(decode(prefix(200, ~0ULL) + empty_rest, k_t0, k_wall0).error(), DecodeError::bad_field);

  // Response splitting through a stored header is refused.
  auto header = [&](std::string name, std::string value) {
    return prefix(200, 0) + u32(0) + u32(1) + u32(static_cast<std::uint32_t>(name.size())) + name +
           u32(static_cast<std::uint32_t>(value.size())) + value + std::string(8, '\0') + u32(0);
  };
  EXPECT_TRUE(decode(header("X-Ok", "fine value"), k_t0, k_wall0).ok());
  EXPECT_EQ(decode(header("X-Bad", "a\r\nSet-Cookie: x"), k_t0, k_wall0).error(),
            DecodeError::bad_field);
  EXPECT_EQ(decode(header("Bad Name", "v"), k_t0, k_wall0).error(), DecodeError::bad_field);
  EXPECT_EQ(decode(header("", "v"), k_t0, k_wall0).error(), DecodeError::bad_field);
  EXPECT_EQ(decode(header(std::string("X\0", 2), "v"), k_t0, k_wall0).error(),
            DecodeError::bad_field);
}

TEST(CachedResponse, CorruptedBytesNeverCrash) {
  const std::string bytes = encode(sample(), k_t0, k_wall0);
  std::size_t accepted = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (const unsigned char flip : {0x01, 0x80, 0xff}) {
      std::string corrupt = bytes;
      corrupt[i] = static_cast<char>(static_cast<unsigned char>(corrupt[i]) ^ flip);
      auto decoded = decode(corrupt, k_t0, k_wall0);
      if (decoded.ok()) {
        ++accepted;
        EXPECT_GE(decoded.value().status, 100);
        EXPECT_LE(decoded.value().fresh_for, k_max_stored_duration);
      }
    }
  }
  EXPECT_LT(accepted, bytes.size() * 3);
}

}  // namespace
}  // namespace levee::layers::cache
