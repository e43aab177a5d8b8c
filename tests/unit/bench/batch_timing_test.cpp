#include "bench/batch_timing.hpp"

#include <gtest/gtest.h>

namespace levee::bench {
namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;

TEST(BatchTiming, ReadsLeveesDebugHeader) {
  const auto timing = parse_batch_timing("items=100; waited_us=8123; upstream_us=50217");
  ASSERT_TRUE(timing.has_value());
  EXPECT_EQ(timing->items, 100u);
  EXPECT_EQ(timing->waited, microseconds(8123));
  EXPECT_EQ(timing->upstream, microseconds(50217));
}

TEST(BatchTiming, SpacesOrderAndUnknownKeysDoNotMatter) {
  const auto timing =
      parse_batch_timing(" upstream_us = 7 ;worker=1;waited_us=0;  items=3 ; ; later=x=y");
  ASSERT_TRUE(timing.has_value());
  EXPECT_EQ(timing->items, 3u);
  EXPECT_EQ(timing->waited, microseconds(0));
  EXPECT_EQ(timing->upstream, microseconds(7));
  // items is optional: the overhead needs only the two times.
  const auto bare = parse_batch_timing("waited_us=1; upstream_us=2");
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->items, 0u);
}

TEST(BatchTiming, RefusesWhatIsNotATiming) {
  for (const char* value : {
           "",                                            // empty
           "items=4; waited_us=10",                       // no upstream_us
           "items=4; upstream_us=10",                     // no waited_us
           "waited_us=10; upstream_us=",                  // empty number
           "waited_us=-1; upstream_us=5",                 // negative
           "waited_us=1.5; upstream_us=5",                // not an integer
           "waited_us=12ms; upstream_us=5",               // a unit
           "waited_us=1; upstream_us=5; waited_us=2",     // twice
           "waited_us=1; upstream_us",                    // no '='
           "waited_us=1; upstream_us=99999999999999999",  // absurdly long
           "items=x; waited_us=1; upstream_us=5",         // items not a number
           "waited_us=1, upstream_us=5",                  // wrong separator
       }) {
    EXPECT_FALSE(parse_batch_timing(value).has_value()) << value;
  }
}

TEST(BatchTiming, OverheadIsWhatRemainsOfTheLatency) {
  const BatchTiming timing{100, microseconds(8'000), microseconds(50'000)};
  EXPECT_EQ(batch_overhead(nanoseconds(58'750'000), timing), nanoseconds(750'000));
  EXPECT_EQ(batch_overhead(nanoseconds(58'000'000), timing), nanoseconds(0));
  // Never negative (levee's figures are rounded down, the client's interval contains them).
  EXPECT_EQ(batch_overhead(nanoseconds(57'000'000), timing), nanoseconds(0));
}

}  // namespace
}  // namespace levee::bench
