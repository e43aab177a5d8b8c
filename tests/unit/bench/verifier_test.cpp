#include "bench/verifier.hpp"

#include <gtest/gtest.h>

namespace levee::bench {
namespace {

Expectation expectation(std::string path, std::string query,
                        std::optional<std::string> authorization, std::string id = "1") {
  return Expectation{std::move(path), std::move(query), std::move(authorization), std::move(id)};
}

// What levee-upstream's /api echo looks like (fields in its order, extra fields included).
std::string echo(std::string_view path, std::string_view query, std::string_view authorization) {
  return std::string("{\"method\":\"GET\",\"path\":\"") + std::string(path) + "\",\"query\":\"" +
         std::string(query) + "\",\"authorization\":" + std::string(authorization) +
         ",\"host\":\"h\",\"body\":\"\",\"hits\":3,\"headers\":{}}";
}

TEST(Verifier, EchoOfTheSameRequestPasses) {
  Verifier verifier(Verification::echo);
  EXPECT_EQ(
      verifier.check(expectation("/api/a", "k=1", std::nullopt), 200, echo("/api/a", "k=1", "null"))
          .verdict,
      Verdict::ok);
  EXPECT_EQ(verifier
                .check(expectation("/api/a", "", "Bearer user-1"), 200,
                       echo("/api/a", "", "\"Bearer user-1\""))
                .verdict,
            Verdict::ok);
}

TEST(Verifier, SwappedResponsesAreCaught) {
  Verifier verifier(Verification::echo);
  // Another key's answer.
  auto result = verifier.check(expectation("/api/a", "k=1", std::nullopt), 200,
                               echo("/api/b", "k=1", "null"));
  EXPECT_EQ(result.verdict, Verdict::mismatch);
  EXPECT_NE(result.detail.find("path"), std::string::npos) << result.detail;
  // Another query's answer.
  EXPECT_EQ(
      verifier.check(expectation("/api/a", "k=1", std::nullopt), 200, echo("/api/a", "k=2", "null"))
          .verdict,
      Verdict::mismatch);
  // Another user's answer: the case a shared cache gets wrong.
  result = verifier.check(expectation("/api/a", "", "Bearer user-1"), 200,
                          echo("/api/a", "", "\"Bearer user-2\""));
  EXPECT_EQ(result.verdict, Verdict::mismatch);
  EXPECT_NE(result.detail.find("user-2"), std::string::npos) << result.detail;
  // An anonymous answer given to a user, and the reverse.
  EXPECT_EQ(
      verifier.check(expectation("/api/a", "", "Bearer user-1"), 200, echo("/api/a", "", "null"))
          .verdict,
      Verdict::mismatch);
  EXPECT_EQ(verifier
                .check(expectation("/api/a", "", std::nullopt), 200,
                       echo("/api/a", "", "\"Bearer user-1\""))
                .verdict,
            Verdict::mismatch);
}

TEST(Verifier, ItemIdsMustMatch) {
  Verifier verifier(Verification::id);
  EXPECT_EQ(verifier
                .check(expectation("/p", "", std::nullopt, "42"), 200,
                       "{\"id\":42,\"result\":\"processed\"}")
                .verdict,
            Verdict::ok);
  EXPECT_EQ(
      verifier.check(expectation("/p", "", std::nullopt, "42"), 200, "{\"id\":\"42\"}").verdict,
      Verdict::ok);
  const auto swapped = verifier.check(expectation("/p", "", std::nullopt, "42"), 200,
                                      "{\"id\":43,\"result\":\"processed\"}");
  EXPECT_EQ(swapped.verdict, Verdict::mismatch);
  EXPECT_NE(swapped.detail.find("43"), std::string::npos);
  EXPECT_EQ(
      verifier.check(expectation("/p", "", std::nullopt, "42"), 200, "{\"result\":1}").verdict,
      Verdict::mismatch);
}

TEST(Verifier, MalformedBodiesAreMismatchesNotCrashes) {
  Verifier verifier(Verification::echo);
  for (std::string_view body : {"", "not json", "[1,2]", "{\"path\":", "{\"path\":1}",
                                "{\"path\":\"/a\",\"query\":\"\"}", "\xff\xfe"}) {
    EXPECT_EQ(verifier.check(expectation("/a", "", std::nullopt), 200, body).verdict,
              Verdict::mismatch)
        << body;
  }
  // A long body after a short one: the verifier's buffer grows.
  const std::string big = echo("/a", std::string(100'000, 'q'), "null");
  EXPECT_EQ(
      verifier.check(expectation("/a", std::string(100'000, 'q'), std::nullopt), 200, big).verdict,
      Verdict::ok);
}

TEST(Verifier, StatusIsCheckedBeforeTheBody) {
  Verifier echo_verifier(Verification::echo);
  EXPECT_EQ(echo_verifier.check(expectation("/a", "", std::nullopt), 503, "busy").verdict,
            Verdict::bad_status);
  Verifier status_verifier(Verification::status);
  EXPECT_EQ(status_verifier.check(expectation("/a", "", std::nullopt), 204, "").verdict,
            Verdict::ok);
  EXPECT_EQ(status_verifier.check(expectation("/a", "", std::nullopt), 404, "").verdict,
            Verdict::bad_status);
  Verifier none(Verification::none);
  EXPECT_EQ(none.check(expectation("/a", "", std::nullopt), 500, "").verdict, Verdict::ok);
}

}  // namespace
}  // namespace levee::bench
