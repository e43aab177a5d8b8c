// [server.http2] and routes[].grpc (issue 20): defaults, bounds, and where each applies.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/config_error.hpp"
#include "config/loader.hpp"

namespace levee::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* k_routes = R"(
[upstreams.legacy]
address = "127.0.0.1:9000"

[[routes]]
name = "r"
upstream = "legacy"
)";

ConfigError only_error(const std::string& text) {
  try {
    (void)load_string(text, "test.toml", {});
  } catch (const ConfigErrors& e) {
    EXPECT_EQ(e.errors.size(), 1u) << e.what();
    return e.errors.at(0);
  }
  ADD_FAILURE() << "expected the configuration to be rejected";
  return {};
}

TEST(Http2Config, DefaultsBoundWhatOneConnectionCanHold) {
  const Config config = load_string(k_routes, "test.toml", {});
  const Http2Config& http2 = config.server.http2;
  EXPECT_TRUE(http2.enabled);
  EXPECT_EQ(http2.max_concurrent_streams, 100u);
  EXPECT_EQ(http2.initial_window_bytes, 256u * 1024);
  EXPECT_EQ(http2.connection_window_bytes, 1u << 20);
  EXPECT_EQ(http2.stream_idle_timeout, std::chrono::seconds(30));
  EXPECT_EQ(http2.max_resets_per_second, 100u);
}

TEST(Http2Config, KeysAreRead) {
  const Config config = load_string(
      "[server.http2]\nenabled = false\nmax_concurrent_streams = 7\ninitial_window_bytes = "
      "\"1MiB\"\nconnection_window_bytes = \"8MiB\"\nstream_idle_timeout = \"5s\"\n"
      "max_resets_per_second = 20\n" +
          std::string(k_routes),
      "test.toml", {});
  const Http2Config& http2 = config.server.http2;
  EXPECT_FALSE(http2.enabled);
  EXPECT_EQ(http2.max_concurrent_streams, 7u);
  EXPECT_EQ(http2.initial_window_bytes, 1u << 20);
  EXPECT_EQ(http2.connection_window_bytes, 8u << 20);
  EXPECT_EQ(http2.stream_idle_timeout, std::chrono::seconds(5));
  EXPECT_EQ(http2.max_resets_per_second, 20u);
}

TEST(Http2Config, AWindowOverTheProtocolsLimitNamesTheKeyAndLine) {
  const ConfigError error =
      only_error("[server.http2]\nconnection_window_bytes = \"4GiB\"\n" + std::string(k_routes));
  EXPECT_EQ(error.key, "server.http2.connection_window_bytes");
  EXPECT_EQ(error.line, 2u);
}

TEST(Http2Config, AnUnknownKeyIsRefused) {
  const ConfigError error = only_error("[server.http2]\nmax_streams = 5\n" + std::string(k_routes));
  EXPECT_EQ(error.key, "server.http2.max_streams");
}

TEST(GrpcRouteConfig, ACollapseRouteCollapsesPostKeyedOnTheMessage) {
  const Config config =
      load_string(std::string(k_routes) + "mode = \"collapse\"\ngrpc = true\n", "test.toml", {});
  EXPECT_TRUE(config.routes[0].grpc);
  EXPECT_THAT(config.routes[0].collapse.methods, ElementsAre("POST"));
}

TEST(GrpcRouteConfig, MethodsTheRouteNamesAreKept) {
  const Config config = load_string(std::string(k_routes) +
                                        "mode = \"collapse\"\ngrpc = true\n"
                                        "[routes.collapse]\nmethods = [\"POST\", \"GET\"]\n",
                                    "test.toml", {});
  EXPECT_THAT(config.routes[0].collapse.methods, ElementsAre("POST", "GET"));
}

TEST(GrpcRouteConfig, RefusedOnABatchRoute) {
  const ConfigError error = only_error(std::string(k_routes) +
                                       "mode = \"batch\"\ngrpc = true\n"
                                       "[routes.batch]\nupstream_path = \"/b\"\n");
  EXPECT_EQ(error.key, "routes[0].grpc");
  EXPECT_THAT(error.message, HasSubstr("batch"));
}

}  // namespace
}  // namespace levee::config
