#include "layers/cache/vary_record.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace levee::layers::cache {
namespace {

TEST(VaryRecord, RoundTrips) {
  const std::vector<std::string> names{"accept", "accept-encoding", "x-tenant"};
  const std::string bytes = encode_vary_record(names);
  EXPECT_TRUE(is_vary_record(bytes));
  EXPECT_EQ(parse_vary_record(bytes), names);
}

TEST(VaryRecord, RefusesWhatItDidNotWrite) {
  for (const std::string& bytes :
       {std::string("LVCR"), std::string(k_vary_record_magic),
        std::string(k_vary_record_magic) + "Accept",                 // not lower case
        std::string(k_vary_record_magic) + "b\na",                   // not sorted
        std::string(k_vary_record_magic) + "a\na",                   // not unique
        std::string(k_vary_record_magic) + "a\n",                    // trailing separator
        std::string(k_vary_record_magic) + "a b",                    // not a token
        std::string(k_vary_record_magic) + std::string(65, 'a')}) {  // too long
    EXPECT_FALSE(parse_vary_record(bytes).has_value()) << bytes;
  }
  std::string many(k_vary_record_magic);
  for (int i = 0; i < 40; ++i) many += (i > 0 ? "\nh" : "h") + std::to_string(100 + i);
  EXPECT_FALSE(parse_vary_record(many).has_value());
}

}  // namespace
}  // namespace levee::layers::cache
