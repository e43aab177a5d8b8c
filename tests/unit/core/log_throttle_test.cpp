#include "core/log_throttle.hpp"

#include <gtest/gtest.h>

namespace levee::core {
namespace {

TEST(LogThrottle, AdmitsUpToTheLimitThenSuppresses) {
  LogThrottle throttle(3);
  int admitted = 0;
  for (int i = 0; i < 100; ++i) admitted += throttle.admit().has_value() ? 1 : 0;
  // The 100 calls may straddle a second boundary; at most two windows' worth pass.
  EXPECT_GE(admitted, 3);
  EXPECT_LE(admitted, 6);
}

}  // namespace
}  // namespace levee::core
