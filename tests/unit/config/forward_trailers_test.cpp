// routes[].forward_trailers (issue 16.2): off by default, pass routes only.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/config_error.hpp"
#include "config/loader.hpp"

namespace levee::config {
namespace {

using ::testing::HasSubstr;

constexpr const char* k_head = R"([upstreams.legacy]
address = "127.0.0.1:9000"

[[routes]]
name = "r"
upstream = "legacy"
)";

TEST(ForwardTrailersConfig, OffByDefaultAndOnForAPassRoute) {
  EXPECT_FALSE(load_string(k_head, "test.toml", {}).routes[0].forward_trailers);
  const Config on = load_string(std::string(k_head) + "forward_trailers = true\n", "test.toml", {});
  EXPECT_TRUE(on.routes[0].forward_trailers);
}

TEST(ForwardTrailersConfig, RefusedOnACollapseRouteWithFileLineAndKey) {
  try {
    (void)load_string(std::string(k_head) + "mode = \"collapse\"\nforward_trailers = true\n",
                      "test.toml", {});
    FAIL() << "expected the configuration to be rejected";
  } catch (const ConfigErrors& e) {
    ASSERT_EQ(e.errors.size(), 1u) << e.what();
    EXPECT_EQ(e.errors[0].key, "routes[0].forward_trailers");
    EXPECT_EQ(e.errors[0].line, 8u);
    EXPECT_THAT(e.errors[0].message, HasSubstr("only to mode = \"pass\""));
  }
}

TEST(ForwardTrailersConfig, MustBeABoolean) {
  EXPECT_THROW(
      (void)load_string(std::string(k_head) + "forward_trailers = \"yes\"\n", "test.toml", {}),
      ConfigErrors);
}

}  // namespace
}  // namespace levee::config
