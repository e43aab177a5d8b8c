#include "bench/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace levee::bench {
namespace {

// The nearest-rank percentile of a sorted sample: the definition Histogram documents.
std::uint64_t exact_percentile(const std::vector<std::uint64_t>& sorted, double q) {
  const auto rank = std::max<std::size_t>(
      1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size()))));
  return sorted[rank - 1];
}

TEST(Histogram, EmptyReportsZero) {
  Histogram histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.percentile(0.99), 0u);
  EXPECT_EQ(histogram.max(), 0u);
  EXPECT_EQ(histogram.min(), 0u);
  EXPECT_EQ(histogram.mean(), 0.0);
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram histogram;
  std::vector<std::uint64_t> values;
  for (std::uint64_t v = 1; v <= 200; ++v) {
    histogram.record(v);
    values.push_back(v);
  }
  for (double q : {0.01, 0.5, 0.9, 0.99, 1.0}) {
    EXPECT_EQ(histogram.percentile(q), exact_percentile(values, q)) << q;
  }
  EXPECT_DOUBLE_EQ(histogram.mean(), 100.5);
}

// Latencies spread over seven decades (1 us to 10 s in ns), as a real run's are.
TEST(Histogram, PercentilesWithinOnePercentOfExact) {
  std::mt19937_64 random(42);
  std::uniform_real_distribution<double> exponent(3.0, 10.0);
  Histogram histogram;
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 200'000; ++i) {
    const auto value = static_cast<std::uint64_t>(std::pow(10.0, exponent(random)));
    histogram.record(value);
    values.push_back(value);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.0, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
    const auto exact = static_cast<double>(exact_percentile(values, q));
    const auto read = static_cast<double>(histogram.percentile(q));
    EXPECT_LE(std::abs(read - exact) / exact, 0.01)
        << "q=" << q << " exact=" << exact << " histogram=" << read;
  }
  EXPECT_EQ(histogram.max(), values.back());
  EXPECT_EQ(histogram.min(), values.front());
  EXPECT_EQ(histogram.count(), values.size());
}

TEST(Histogram, SkewedSampleKeepsItsTail) {
  Histogram histogram;
  for (int i = 0; i < 9990; ++i) histogram.record(1'000'000);    // 1 ms
  for (int i = 0; i < 10; ++i) histogram.record(4'000'000'000);  // 4 s
  EXPECT_NEAR(static_cast<double>(histogram.percentile(0.99)), 1e6, 1e4);
  EXPECT_NEAR(static_cast<double>(histogram.percentile(0.9995)), 4e9, 4e7);
  EXPECT_EQ(histogram.max(), 4'000'000'000u);
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
  Histogram a;
  Histogram b;
  Histogram both;
  for (std::uint64_t v = 1; v < 100'000; v += 7) {
    ((v % 2 == 0) ? a : b).record(v * 13);
    both.record(v * 13);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), both.count());
  for (double q : {0.1, 0.5, 0.99}) EXPECT_EQ(a.percentile(q), both.percentile(q));
  EXPECT_EQ(a.max(), both.max());
  EXPECT_EQ(a.min(), both.min());
}

TEST(Histogram, ValuesAboveTheRangeAreClampedAndCounted) {
  Histogram histogram;
  histogram.record(~std::uint64_t{0});
  EXPECT_EQ(histogram.count(), 1u);
  EXPECT_EQ(histogram.max(), Histogram::max_value());
  EXPECT_EQ(histogram.percentile(1.0), Histogram::max_value());
}

}  // namespace
}  // namespace levee::bench
