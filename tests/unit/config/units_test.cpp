#include "config/units.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>

namespace levee::config {
namespace {

using namespace std::chrono_literals;

TEST(UnitsDuration, AcceptsEveryUnit) {
  EXPECT_EQ(parse_duration("5ns"), Duration(5ns));
  EXPECT_EQ(parse_duration("250us"), Duration(250us));
  EXPECT_EQ(parse_duration("50ms"), Duration(50ms));
  EXPECT_EQ(parse_duration("2s"), Duration(2s));
  EXPECT_EQ(parse_duration("1m"), Duration(1min));
  EXPECT_EQ(parse_duration("1h"), Duration(1h));
}

TEST(UnitsDuration, AcceptsFractions) {
  EXPECT_EQ(parse_duration("1.5s"), Duration(1500ms));
  EXPECT_EQ(parse_duration("0.25ms"), Duration(250us));
  EXPECT_EQ(parse_duration("1.000000001s"), Duration(1'000'000'001ns));
  EXPECT_EQ(parse_duration("0.5h"), Duration(30min));
  EXPECT_EQ(parse_duration("1.5us"), Duration(1500ns));
}

TEST(UnitsDuration, ZeroOnlyPlainOrWithUnit) {
  EXPECT_EQ(parse_duration("0"), Duration::zero());
  EXPECT_EQ(parse_duration("0s"), Duration::zero());
  EXPECT_EQ(parse_duration("0.0ms"), Duration::zero());
  EXPECT_EQ(parse_duration("00"), std::nullopt);
  EXPECT_EQ(parse_duration("5"), std::nullopt);
}

TEST(UnitsDuration, RejectsGarbage) {
  for (const char* text : {"", "s", "-1s", "+1s", " 1s", "1s ", "1 s", "1S", "1sec", "1.s", ".5s",
                           "1..5s", "1.5.5s", "1e3ms", "ms50", "1.0000000001s", "abc", "1ms1"}) {
    EXPECT_EQ(parse_duration(text), std::nullopt) << text;
  }
}

TEST(UnitsDuration, RejectsOverflow) {
  EXPECT_TRUE(parse_duration("9223372036854775807ns").has_value());
  EXPECT_EQ(parse_duration("9223372036854775808ns"), std::nullopt);
  EXPECT_EQ(parse_duration("9223372037s"), std::nullopt);
  EXPECT_EQ(parse_duration("2562048h"), std::nullopt);
  EXPECT_EQ(parse_duration("99999999999999999999999s"), std::nullopt);
  EXPECT_EQ(parse_duration("9223372036.9999999999s"), std::nullopt);
  EXPECT_TRUE(parse_duration("9223372036.854775807s").has_value());
  EXPECT_EQ(parse_duration("9223372036.854775808s"), std::nullopt);
}

TEST(UnitsDuration, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(format_duration(50ms), "50ms");
  EXPECT_EQ(format_duration(2s), "2s");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(90min), "90m");
  EXPECT_EQ(format_duration(2h), "2h");
  EXPECT_EQ(format_duration(250us), "250us");
  EXPECT_EQ(format_duration(7ns), "7ns");
  EXPECT_EQ(format_duration(Duration::zero()), "0s");
  EXPECT_EQ(format_duration(-3s), "-3s");
  EXPECT_EQ(format_duration(Duration::min()), "-9223372036854775808ns");
}

TEST(UnitsDuration, FormatRoundTrips) {
  for (const char* text : {"250us", "50ms", "2s", "1m", "1h", "1500ms"}) {
    const auto parsed = parse_duration(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(format_duration(*parsed), text);
  }
}

TEST(UnitsSize, AcceptsPlainBytesAndUnits) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("1234"), 1234u);
  EXPECT_EQ(parse_size("512B"), 512u);
  EXPECT_EQ(parse_size("64KiB"), 64u * 1024);
  EXPECT_EQ(parse_size("1MiB"), 1024u * 1024);
  EXPECT_EQ(parse_size("2GiB"), 2ull * 1024 * 1024 * 1024);
  EXPECT_EQ(parse_size("1TiB"), 1ull << 40);
  EXPECT_EQ(parse_size("10KB"), 10'000u);
  EXPECT_EQ(parse_size("10MB"), 10'000'000u);
  EXPECT_EQ(parse_size("1GB"), 1'000'000'000u);
  EXPECT_EQ(parse_size("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
}

TEST(UnitsSize, RejectsGarbageNegativesAndOverflow) {
  for (const char* text :
       {"", "KiB", "-1", "-1KiB", "+1", "1 KiB", "1kib", "1Kib", "1KIB", "1kb", "1.5MiB", "1e6",
        "12x", " 1", "1B ", "18446744073709551616", "16777216TiB", "18446744073709552KB"}) {
    EXPECT_EQ(parse_size(text), std::nullopt) << text;
  }
}

TEST(UnitsSize, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(format_size(0), "0B");
  EXPECT_EQ(format_size(16 * 1024), "16KiB");
  EXPECT_EQ(format_size(1024 * 1024), "1MiB");
  EXPECT_EQ(format_size(4ull << 30), "4GiB");
  EXPECT_EQ(format_size(10'000'000), "10MB");
  EXPECT_EQ(format_size(1000), "1KB");
  EXPECT_EQ(format_size(1500), "1500B");
}

}  // namespace
}  // namespace levee::config
