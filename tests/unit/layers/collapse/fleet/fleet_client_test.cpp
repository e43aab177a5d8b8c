// The pure parts of the fleet client: the lease key a collapse key becomes in Redis, and the
// completion messages on the shared channel (fleet_client.hpp). The client against a real
// Redis is in tests/integration/fleet_lease_test.cpp.
#include "layers/collapse/fleet/fleet_client.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace levee::layers::collapse::fleet {
namespace {

bool is_lower_hex(const std::string& text) {
  return text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(LeaseKey, IsAStableSha256InLowerHex) {
  const std::string key = lease_key("items", "legacy", "GET /items/1");
  EXPECT_EQ(key.size(), 64u);
  EXPECT_TRUE(is_lower_hex(key)) << key;
  EXPECT_EQ(key, lease_key("items", "legacy", "GET /items/1"));
  EXPECT_EQ(lease_key("", "", "").size(), 64u);
}

TEST(LeaseKey, DiffersWhenRouteUpstreamOrKeyDiffers) {
  const std::string base = lease_key("items", "legacy", "GET /items/1");
  EXPECT_NE(base, lease_key("other", "legacy", "GET /items/1"));
  EXPECT_NE(base, lease_key("items", "modern", "GET /items/1"));
  EXPECT_NE(base, lease_key("items", "legacy", "GET /items/2"));
}

TEST(LeaseKey, NoTwoSplitsOfTheSameCharactersCollide) {
  // Every way to cut "abcd" into (route, upstream, key), empty parts included: a plain
  // concatenation would give them all one hash.
  const std::string all = "abcd";
  std::set<std::string> keys;
  std::size_t splits = 0;
  for (std::size_t first = 0; first <= all.size(); ++first) {
    for (std::size_t second = first; second <= all.size(); ++second) {
      keys.insert(
          lease_key(all.substr(0, first), all.substr(first, second - first), all.substr(second)));
      ++splits;
    }
  }
  EXPECT_EQ(keys.size(), splits);
  EXPECT_NE(lease_key("ab", "c", "k"), lease_key("a", "bc", "k"));
  EXPECT_NE(lease_key("r", "ab", "c"), lease_key("r", "a", "bc"));
  // A separator byte inside a part cannot imitate a boundary either.
  EXPECT_NE(lease_key(std::string("a\0b", 3), "c", "k"),
            lease_key("a", std::string("b\0c", 3), "k"));
}

TEST(CompletionMessage, RoundTripsEveryKind) {
  const std::string key = lease_key("items", "legacy", "GET /items/1");
  for (const auto& [kind, letter] :
       std::vector<std::tuple<Completion::Kind, char>>{{Completion::Kind::shared, 's'},
                                                       {Completion::Kind::local, 'l'},
                                                       {Completion::Kind::abandoned, 'a'}}) {
    const Completion completion{kind, 18446744073709551615ULL};
    const std::string message = completion_message(key, completion);
    EXPECT_EQ(message, key + " 18446744073709551615 " + letter);
    const auto parsed = parse_completion(message);
    ASSERT_TRUE(parsed.has_value()) << message;
    EXPECT_EQ(parsed->key, key);
    EXPECT_EQ(parsed->completion.kind, kind);
    EXPECT_EQ(parsed->completion.token, completion.token);
  }
}

TEST(CompletionMessage, KindNoneIsSentAsAbandoned) {
  // Nobody completes with "nothing happened": the letter a waiter can act on is `a`.
  const auto parsed = parse_completion(completion_message("k", {Completion::Kind::none, 3}));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->completion.kind, Completion::Kind::abandoned);
  EXPECT_EQ(parsed->completion.token, 3u);
}

TEST(ParseCompletion, RejectsWhatIsNotOneOfOurs) {
  for (const std::string payload : {
           "",
           "k",                            // no spaces
           "k 1",                          // one space: no kind
           "k1s",                          // no separators
           "k  s",                         // empty token
           "k x s",                        // not a number
           "k -1 s",                       // negative
           "k +1 s",                       // sign
           "k 1x s",                       // junk after the token
           "k 1 2 s",                      // two tokens
           "k 99999999999999999999999 s",  // over 64 bits
           "k 1 x",                        // unknown kind letter
           "k 1 S",                        // letters are lower case
           "k 1 ss",                       // trailing junk after the kind
           "k 1 s junk",                   // trailing junk after the kind
           "k 1 s ",                       // trailing space
       }) {
    EXPECT_FALSE(parse_completion(payload).has_value()) << '"' << payload << '"';
  }
}

}  // namespace
}  // namespace levee::layers::collapse::fleet
