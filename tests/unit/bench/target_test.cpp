#include "bench/target.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace levee::bench {
namespace {

TEST(Target, LoopbackAddressesAreAccepted) {
  Target target = parse_target("http://127.0.0.1:8080");
  EXPECT_EQ(target.address, "127.0.0.1");
  EXPECT_EQ(target.port, 8080);
  EXPECT_EQ(target.authority, "127.0.0.1:8080");
  EXPECT_EQ(target.path, "/");

  target = parse_target("http://127.3.4.5:9/__stats");
  EXPECT_EQ(target.path, "/__stats");

  target = parse_target("http://[::1]:7000/x");
  EXPECT_EQ(target.address, "::1");
  EXPECT_EQ(target.authority, "[::1]:7000");

  target = parse_target("http://localhost:81");
  EXPECT_EQ(target.address, "127.0.0.1");

  EXPECT_EQ(parse_target("http://127.0.0.1").port, 80);
}

TEST(Target, EverythingElseIsRefused) {
  for (const char* url :
       {"http://10.0.0.1:80", "http://192.168.1.1", "http://8.8.8.8:53", "http://example.com",
        "https://127.0.0.1:443", "127.0.0.1:80", "http://[::2]:80", "http://127.0.0.1:0",
        "http://127.0.0.1:99999", "http://127.0.0.1:8a", "http://[::1"}) {
    EXPECT_THROW((void)parse_target(url), std::invalid_argument) << url;
  }
  try {
    (void)parse_target("http://10.1.2.3:80");
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("not a loopback address"), std::string::npos);
  }
}

}  // namespace
}  // namespace levee::bench
