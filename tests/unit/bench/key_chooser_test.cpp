#include "bench/key_chooser.hpp"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace levee::bench {
namespace {

TEST(KeyChooser, SingleIsAlwaysTheSameKey) {
  KeyChooser keys({KeyDistribution::single, 1000, 1.0}, 1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(keys.next(), 0u);
}

TEST(KeyChooser, UniformCoversEveryKeyEvenly) {
  KeyChooser keys({KeyDistribution::uniform, 10, 1.0}, 1);
  std::map<std::uint64_t, int> seen;
  for (int i = 0; i < 100'000; ++i) ++seen[keys.next()];
  ASSERT_EQ(seen.size(), 10u);
  for (const auto& [key, count] : seen) {
    EXPECT_LT(key, 10u);
    EXPECT_NEAR(count, 10'000, 500) << key;
  }
}

TEST(KeyChooser, ZipfFavoursTheFirstKeysAsItsExponentSays) {
  KeyChooser keys({KeyDistribution::zipf, 1000, 1.0}, 3);
  std::vector<int> counts(1000);
  constexpr int k_draws = 200'000;
  for (int i = 0; i < k_draws; ++i) {
    const auto key = keys.next();
    ASSERT_LT(key, 1000u);
    ++counts[key];
  }
  // P(key 0) = 1 / H(1000) = 0.1336; P(key 1) is half of it.
  EXPECT_NEAR(counts[0] / double(k_draws), 0.1336, 0.005);
  EXPECT_NEAR(counts[1] / double(counts[0]), 0.5, 0.03);
  EXPECT_GT(counts[0], counts[9] * 8);
}

TEST(KeyChooser, SameSeedSameKeys) {
  KeyChooser a({KeyDistribution::zipf, 100, 1.2}, 9);
  KeyChooser b({KeyDistribution::zipf, 100, 1.2}, 9);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(a.next(), b.next());
}

}  // namespace
}  // namespace levee::bench
