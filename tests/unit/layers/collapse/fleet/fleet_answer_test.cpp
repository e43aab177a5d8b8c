// Which holder answers may be shared with the rest of the fleet (one test per reason, and the
// shareable ones), and the answer's encoding in Redis: a round trip with headers, a binary
// body and trailers, and garbage that must decode to nullopt (the reader then calls on its
// own).
#include "layers/collapse/fleet/fleet_answer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace levee::layers::collapse::fleet {
namespace {

constexpr std::uint64_t k_max_bytes = 1024;

core::Response answer(int status, std::string body = "{\"id\":1}") {
  core::Response response;
  response.status = status;
  response.headers.add("Content-Type", "application/json");
  response.body = std::make_shared<const std::string>(std::move(body));
  return response;
}

core::Response with_header(std::string_view name, std::string_view value) {
  core::Response response = answer(200);
  response.headers.add(name, value);
  return response;
}

std::optional<Unshared> reason(const core::Response& response) {
  return unshared_reason(response, k_max_bytes);
}

TEST(UnsharedReason, AnOrdinaryAnswerIsShared) {
  EXPECT_EQ(reason(answer(200)), std::nullopt);
  EXPECT_EQ(reason(answer(404)), std::nullopt);
  EXPECT_EQ(reason(with_header("Cache-Control", "max-age=60")), std::nullopt);
  EXPECT_EQ(reason(with_header("Cache-Control", "public, no-cache")), std::nullopt);
  core::Response empty;
  EXPECT_EQ(reason(empty), std::nullopt);
}

TEST(UnsharedReason, SetCookieStaysWithTheHolder) {
  EXPECT_EQ(reason(with_header("Set-Cookie", "session=abc")), Unshared::set_cookie);
  EXPECT_EQ(reason(with_header("set-cookie", "session=abc")), Unshared::set_cookie);
}

TEST(UnsharedReason, NoStoreAndPrivateStayWithTheHolder) {
  EXPECT_EQ(reason(with_header("Cache-Control", "no-store")), Unshared::no_store);
  EXPECT_EQ(reason(with_header("Cache-Control", "max-age=5, no-store")), Unshared::no_store);
  EXPECT_EQ(reason(with_header("Cache-Control", "private")), Unshared::private_);
  EXPECT_EQ(reason(with_header("Cache-Control", "private, max-age=60")), Unshared::private_);
}

TEST(UnsharedReason, AStatusTheCacheWouldNotStoreStaysWithTheHolder) {
  EXPECT_EQ(reason(answer(500)), Unshared::status);
  EXPECT_EQ(reason(answer(503)), Unshared::status);
  EXPECT_EQ(reason(answer(302)), Unshared::status);
  EXPECT_EQ(reason(answer(206)), Unshared::status);
}

TEST(UnsharedReason, EveryAnswerLeveeMadeItselfStaysWithTheHolder) {
  core::Response failed = answer(502);
  failed.upstream_failed = true;
  EXPECT_EQ(reason(failed), Unshared::status);
  // Even with a status the cache would store: no upstream answered it.
  core::Response failed_404 = answer(404);
  failed_404.upstream_failed = true;
  EXPECT_EQ(reason(failed_404), Unshared::status);
  core::Response shed = answer(503);
  shed.shed = true;
  EXPECT_EQ(reason(shed), Unshared::status);
  core::Response shed_200 = answer(200);
  shed_200.shed = true;
  EXPECT_EQ(reason(shed_200), Unshared::status);
  core::Response breaker = answer(200);
  breaker.breaker_open = true;
  EXPECT_EQ(reason(breaker), Unshared::status);
}

TEST(UnsharedReason, ABodyOverMaxBytesStaysWithTheHolder) {
  EXPECT_EQ(reason(answer(200, std::string(k_max_bytes, 'x'))), std::nullopt);
  EXPECT_EQ(reason(answer(200, std::string(k_max_bytes + 1, 'x'))), Unshared::too_large);
  EXPECT_EQ(unshared_reason(answer(200, "ab"), 1), Unshared::too_large);
  EXPECT_EQ(unshared_reason(answer(200, ""), 0), std::nullopt);
}

TEST(UnsharedReason, EachReasonHasItsMetricName) {
  EXPECT_EQ(to_string(Unshared::set_cookie), "set_cookie");
  EXPECT_EQ(to_string(Unshared::no_store), "no_store");
  EXPECT_EQ(to_string(Unshared::private_), "private");
  EXPECT_EQ(to_string(Unshared::status), "status");
  EXPECT_EQ(to_string(Unshared::too_large), "too_large");
}

std::vector<std::pair<std::string, std::string>> fields(const core::Headers& headers) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const core::Header& header : headers) out.emplace_back(header.name, header.value);
  return out;
}

TEST(AnswerEncoding, RoundTripsStatusHeadersBodyAndTrailers) {
  core::Response original = answer(203, std::string("{\"a\":1}\0\xff\n", 10));
  original.headers.add("X-Many", "1");
  original.headers.add("X-Many", "2");
  original.trailers.add("grpc-status", "0");
  original.trailers.add("grpc-message", "ok");
  const std::string bytes = encode_answer(original);
  const auto decoded = decode_answer(bytes);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->status, 203);
  EXPECT_EQ(fields(decoded->headers), fields(original.headers));
  EXPECT_EQ(decoded->body_view(), original.body_view());
  EXPECT_EQ(fields(decoded->trailers), fields(original.trailers));
  EXPECT_FALSE(decoded->upstream_failed);
  EXPECT_FALSE(decoded->shed);
}

TEST(AnswerEncoding, RoundTripsAnEmptyAnswer) {
  core::Response original;
  original.status = 204;
  const auto decoded = decode_answer(encode_answer(original));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->status, 204);
  EXPECT_TRUE(decoded->headers.empty());
  EXPECT_EQ(decoded->body_size(), 0u);
  EXPECT_TRUE(decoded->trailers.empty());
}

TEST(AnswerEncoding, GarbageDecodesToNullopt) {
  EXPECT_FALSE(decode_answer(""));
  EXPECT_FALSE(decode_answer("LVCR"));
  EXPECT_FALSE(decode_answer("not an answer at all"));
  EXPECT_FALSE(decode_answer(std::string(64, '\xff')));
  const std::string bytes = encode_answer(answer(200, "body"));
  // Cut short anywhere, or with bytes after its end.
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    EXPECT_FALSE(decode_answer(bytes.substr(0, length))) << length;
  }
  EXPECT_FALSE(decode_answer(bytes + "x"));
}

}  // namespace
}  // namespace levee::layers::collapse::fleet
