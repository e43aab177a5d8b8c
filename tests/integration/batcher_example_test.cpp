// examples/batcher: the embeddable batcher used from a program of its own, built against
// include/levee only.

#include <gtest/gtest.h>

#include <string>

#include "support/process.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

TEST(BatcherExample, EveryItemGetsItsOwnAnswerInFullBatches) {
  Process example(binary_path("levee-batcher-example"), {"1000", "2"});
  const std::string line = example.wait_for_line("items=", 30s);
  EXPECT_EQ(example.wait_exit(30s), 0) << example.stderr_text();
  EXPECT_NE(line.find("correct=1000 wrong=0"), std::string::npos) << line;
  // 1000 items in batches of up to 100, from two threads into one batcher: 10 full calls, and
  // at most one partial batch per 5 ms max_wait while the submissions arrive.
  const auto calls = std::stoi(line.substr(line.find("calls=") + 6));
  EXPECT_GE(calls, 10);
  EXPECT_LE(calls, 20);
}

TEST(BatcherExample, BadArgumentsAreRefused) {
  Process example(binary_path("levee-batcher-example"), {"many"});
  EXPECT_EQ(example.wait_exit(10s), 2);
  EXPECT_NE(example.stderr_text().find("usage:"), std::string::npos);
}

}  // namespace
}  // namespace levee::testing
