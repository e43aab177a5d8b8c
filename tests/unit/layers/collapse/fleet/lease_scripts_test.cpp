// The lease scripts' replies as Redis sends them (lease_scripts.hpp states their shapes):
// every shape each parser accepts, and the malformed ones (another script version, a corrupt
// answer) that must come back nullopt rather than as a lease or an answer.
#include "layers/collapse/fleet/lease_scripts.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace levee::layers::collapse::fleet {
namespace {

using redis::RedisValue;
using std::chrono::milliseconds;

RedisValue integer(long long value) {
  RedisValue reply;
  reply.type = RedisValue::Type::integer;
  reply.integer = value;
  return reply;
}

RedisValue text(std::string value) {
  RedisValue reply;
  reply.type = RedisValue::Type::string;
  reply.text = std::move(value);
  return reply;
}

RedisValue array(std::vector<RedisValue> elements) {
  RedisValue reply;
  reply.type = RedisValue::Type::array;
  reply.elements = std::move(elements);
  return reply;
}

TEST(ParseAcquired, WonCarriesOurToken) {
  const auto acquired = parse_acquired(array({integer(1), integer(7)}));
  ASSERT_TRUE(acquired.has_value());
  EXPECT_EQ(acquired->kind, Acquired::Kind::won);
  EXPECT_EQ(acquired->token, 7u);
  EXPECT_EQ(acquired->lease_left, milliseconds(0));
  EXPECT_TRUE(acquired->answer.empty());
}

TEST(ParseAcquired, HeldCarriesTheHoldersTokenAndTheLeaseLeft) {
  const auto acquired = parse_acquired(array({integer(0), integer(3), integer(1500)}));
  ASSERT_TRUE(acquired.has_value());
  EXPECT_EQ(acquired->kind, Acquired::Kind::held);
  EXPECT_EQ(acquired->token, 3u);
  EXPECT_EQ(acquired->lease_left, milliseconds(1500));
  EXPECT_TRUE(acquired->answer.empty());
}

TEST(ParseAcquired, HeldWithANegativePttlHasNoTimeLeft) {
  // PTTL -1 (no expiry) and -2 (just expired) are not durations.
  for (const long long pttl : {-1LL, -2LL}) {
    const auto acquired = parse_acquired(array({integer(0), integer(3), integer(pttl)}));
    ASSERT_TRUE(acquired.has_value()) << pttl;
    EXPECT_EQ(acquired->lease_left, milliseconds(0)) << pttl;
  }
}

TEST(ParseAcquired, AnswerStripsItsTokenPrefixAndKeepsBinaryBytes) {
  const std::string encoded("a\nb\0\xff", 5);
  const auto acquired = parse_acquired(array({integer(2), integer(9), text("9\n" + encoded)}));
  ASSERT_TRUE(acquired.has_value());
  EXPECT_EQ(acquired->kind, Acquired::Kind::answer);
  EXPECT_EQ(acquired->token, 9u);
  EXPECT_EQ(acquired->answer, encoded);
}

TEST(ParseAcquired, AnEmptyAnswerIsTheMarkerOfAnAnswerItsHolderKept) {
  const auto acquired = parse_acquired(array({integer(2), integer(4), text("4\n")}));
  ASSERT_TRUE(acquired.has_value());
  EXPECT_EQ(acquired->kind, Acquired::Kind::unshared);
  EXPECT_EQ(acquired->token, 4u);
  EXPECT_EQ(acquired->answer, "");
}

TEST(ParseAcquired, AKeptAnswersMarkerIsNoStaleAnswer) {
  const auto acquired = parse_acquired(array({integer(3), integer(6), integer(900), text("5\n")}));
  ASSERT_TRUE(acquired.has_value());
  EXPECT_EQ(acquired->kind, Acquired::Kind::held);
  EXPECT_EQ(acquired->token, 6u);
  EXPECT_EQ(acquired->lease_left, milliseconds(900));
}

TEST(ParseAcquired, StaleCarriesTheHolderTheLeaseLeftAndTheOlderAnswer) {
  const auto acquired =
      parse_acquired(array({integer(3), integer(12), integer(800), text("11\nolder")}));
  ASSERT_TRUE(acquired.has_value());
  EXPECT_EQ(acquired->kind, Acquired::Kind::stale);
  EXPECT_EQ(acquired->token, 12u);
  EXPECT_EQ(acquired->lease_left, milliseconds(800));
  EXPECT_EQ(acquired->answer, "older");
}

TEST(ParseAcquired, AnAnswerWithoutItsNewlineIsRejected) {
  EXPECT_FALSE(parse_acquired(array({integer(2), integer(9), text("9 no newline")})));
  EXPECT_FALSE(parse_acquired(array({integer(3), integer(12), integer(800), text("11")})));
}

TEST(ParseAcquired, NegativeTokensAreRejected) {
  EXPECT_FALSE(parse_acquired(array({integer(1), integer(-1)})));
  EXPECT_FALSE(parse_acquired(array({integer(0), integer(-5), integer(100)})));
  EXPECT_FALSE(parse_acquired(array({integer(2), integer(-9), text("x\ny")})));
  EXPECT_FALSE(parse_acquired(array({integer(3), integer(-1), integer(1), text("1\ny")})));
}

TEST(ParseAcquired, AWonLeaseWithTokenZeroIsRejected) {
  // INCR never yields 0: a zero token would also defeat the fencing (every answer is >= 0).
  EXPECT_FALSE(parse_acquired(array({integer(1), integer(0)})));
}

TEST(ParseAcquired, RepliesOfAnotherShapeAreRejected) {
  RedisValue nil;
  EXPECT_FALSE(parse_acquired(nil));
  EXPECT_FALSE(parse_acquired(integer(1)));
  EXPECT_FALSE(parse_acquired(text("1")));
  EXPECT_FALSE(parse_acquired(array({})));
  EXPECT_FALSE(parse_acquired(array({integer(1)})));
  // Unknown kinds.
  EXPECT_FALSE(parse_acquired(array({integer(4), integer(1)})));
  EXPECT_FALSE(parse_acquired(array({integer(-1), integer(1)})));
  // Kind or token not integers.
  EXPECT_FALSE(parse_acquired(array({text("1"), integer(1)})));
  EXPECT_FALSE(parse_acquired(array({integer(1), text("1")})));
  // Wrong element counts per kind.
  EXPECT_FALSE(parse_acquired(array({integer(1), integer(1), integer(0)})));
  EXPECT_FALSE(parse_acquired(array({integer(0), integer(1)})));
  EXPECT_FALSE(parse_acquired(array({integer(0), integer(1), integer(5), text("1\nx")})));
  EXPECT_FALSE(parse_acquired(array({integer(2), integer(1)})));
  EXPECT_FALSE(parse_acquired(array({integer(2), integer(1), text("1\nx"), integer(0)})));
  EXPECT_FALSE(parse_acquired(array({integer(3), integer(1), integer(5)})));
  // Wrong element types per kind.
  EXPECT_FALSE(parse_acquired(array({integer(0), integer(1), text("5")})));
  EXPECT_FALSE(parse_acquired(array({integer(2), integer(1), integer(5)})));
  EXPECT_FALSE(parse_acquired(array({integer(2), integer(1), RedisValue{}})));
  EXPECT_FALSE(parse_acquired(array({integer(3), integer(1), text("5"), text("1\nx")})));
  EXPECT_FALSE(parse_acquired(array({integer(3), integer(1), integer(5), integer(6)})));
}

TEST(ParseCompleted, ReadsBothFlags) {
  for (const long long ours : {0LL, 1LL}) {
    for (const long long written : {0LL, 1LL}) {
      const auto completed = parse_completed(array({integer(ours), integer(written)}));
      ASSERT_TRUE(completed.has_value());
      EXPECT_EQ(completed->lease_was_ours, ours == 1);
      EXPECT_EQ(completed->written, written == 1);
    }
  }
}

TEST(ParseCompleted, RepliesOfAnotherShapeAreRejected) {
  EXPECT_FALSE(parse_completed(RedisValue{}));
  EXPECT_FALSE(parse_completed(integer(1)));
  EXPECT_FALSE(parse_completed(array({})));
  EXPECT_FALSE(parse_completed(array({integer(1)})));
  EXPECT_FALSE(parse_completed(array({integer(1), integer(1), integer(1)})));
  EXPECT_FALSE(parse_completed(array({text("1"), integer(1)})));
  EXPECT_FALSE(parse_completed(array({integer(1), text("1")})));
}

TEST(LeaseScripts, AreDistinctNonEmptyLua) {
  EXPECT_FALSE(acquire_script().text().empty());
  EXPECT_FALSE(complete_script().text().empty());
  EXPECT_FALSE(renew_script().text().empty());
  EXPECT_FALSE(release_script().text().empty());
  EXPECT_NE(acquire_script().sha1(), complete_script().sha1());
  EXPECT_NE(complete_script().sha1(), renew_script().sha1());
  EXPECT_NE(renew_script().sha1(), release_script().sha1());
  EXPECT_EQ(renew_script().sha1().size(), 40U);
}

}  // namespace
}  // namespace levee::layers::collapse::fleet
