#include "upstream/header_rewrite.hpp"

#include <gtest/gtest.h>

#include <iterator>

namespace levee::upstream {
namespace {

TEST(HeaderRewrite, StripsFixedHopByHopFields) {
  core::Headers h;
  for (auto name : {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
                    "Transfer-Encoding", "Upgrade", "Proxy-Authenticate", "Proxy-Authorization"}) {
    h.add(name, "x");
  }
  h.add("Authorization", "Bearer a");
  h.add("Content-Type", "application/json");
  strip_hop_by_hop(h);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(*h.find("authorization"), "Bearer a");
  EXPECT_TRUE(h.contains("Content-Type"));
}

TEST(HeaderRewrite, StripsFieldsNamedByConnectionCaseInsensitively) {
  core::Headers h;
  h.add("connection", "X-Trace , keep-alive,  x-secret");
  h.add("Connection", "X-Other");
  h.add("x-trace", "1");
  h.add("X-SECRET", "2");
  h.add("X-Other", "3");
  h.add("X-Kept", "4");
  strip_hop_by_hop(h);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(*h.find("X-Kept"), "4");
}

TEST(HeaderRewrite, AddsForwardingHeadersToEmptyRequest) {
  core::Headers h;
  add_forwarding_headers(h, "10.0.0.7", "http");
  EXPECT_EQ(*h.find("X-Forwarded-For"), "10.0.0.7");
  EXPECT_EQ(*h.find("X-Forwarded-Proto"), "http");
  EXPECT_EQ(*h.find("Via"), "1.1 levee");
}

TEST(HeaderRewrite, AppendsToEveryEarlierForwardedForAndVia) {
  core::Headers h;
  h.add("X-Forwarded-For", "1.1.1.1");
  h.add("x-forwarded-for", "2.2.2.2, 3.3.3.3");
  h.add("Via", "1.0 edge");
  h.add("X-Forwarded-Proto", "https");
  add_forwarding_headers(h, "127.0.0.1", "http");
  EXPECT_EQ(*h.find("X-Forwarded-For"), "1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1");
  EXPECT_EQ(*h.find("Via"), "1.0 edge, 1.1 levee");
  EXPECT_EQ(*h.find("X-Forwarded-Proto"), "http");
  std::size_t xff = 0;
  for (const auto& f : h) xff += core::iequals(f.name, "X-Forwarded-For") ? 1 : 0;
  EXPECT_EQ(xff, 1u);
}

TEST(HeaderRewrite, ForbiddenTrailersAreRemovedAndTheRestKept) {
  core::Headers trailers;
  trailers.add("Host", "evil");
  trailers.add("authorization", "Bearer x");
  trailers.add("X-Forwarded-For", "10.0.0.1");
  trailers.add("Content-Length", "100");
  trailers.add("Transfer-Encoding", "chunked");
  trailers.add("Cookie", "a=b");
  trailers.add("Connection", "X-Hop");
  trailers.add("X-Hop", "1");
  trailers.add("X-Checksum", "5d41");
  trailers.add("grpc-status", "0");
  EXPECT_EQ(strip_forbidden_trailers(trailers), 8u);
  ASSERT_EQ(trailers.size(), 2u);
  EXPECT_EQ(trailers.begin()->name, "X-Checksum");
  EXPECT_EQ(std::next(trailers.begin())->name, "grpc-status");
}

}  // namespace
}  // namespace levee::upstream
