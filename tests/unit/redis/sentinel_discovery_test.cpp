// parse_master_address: the answers a sentinel gives to get-master-addr-by-name, as RESP bytes.
#include "redis/sentinel_discovery.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace levee::redis {
namespace {

using ::testing::HasSubstr;

TEST(RedisSentinelReply, AnArrayOfHostAndPortIsThePrimary) {
  auto address = parse_master_address("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n7001\r\n", "m");
  ASSERT_TRUE(address.ok()) << address.error();
  EXPECT_EQ(address.value(), (RedisAddress{"127.0.0.1", 7001}));
  EXPECT_EQ(address.value().to_string(), "127.0.0.1:7001");
}

TEST(RedisSentinelReply, ANullReplyMeansAnUnknownName) {
  for (const char* null_reply : {"*-1\r\n", "$-1\r\n"}) {
    const auto address = parse_master_address(null_reply, "mymaster");
    ASSERT_FALSE(address.ok());
    EXPECT_THAT(address.error(), HasSubstr("no primary named \"mymaster\""));
  }
}

TEST(RedisSentinelReply, ErrorsAndOddShapesAreRefused) {
  EXPECT_THAT(parse_master_address("-ERR unknown command\r\n", "m").error(),
              HasSubstr("answered ERR unknown command"));
  EXPECT_THAT(parse_master_address("+OK\r\n", "m").error(), HasSubstr("unexpected reply"));
  EXPECT_THAT(parse_master_address("*1\r\n$9\r\n127.0.0.1\r\n", "m").error(),
              HasSubstr("unexpected reply"));
  EXPECT_THAT(parse_master_address("*2\r\n$9\r\nredis.one\r\n$4\r\n7001\r\n", "m").error(),
              HasSubstr("unusable address"));
  EXPECT_THAT(parse_master_address("*2\r\n$9\r\n127.0.0.1\r\n$5\r\n70000\r\n", "m").error(),
              HasSubstr("unusable address"));
  EXPECT_THAT(parse_master_address("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n70", "m").error(),
              HasSubstr("incomplete"));
  EXPECT_THAT(parse_master_address("!garbage\r\n", "m").error(), HasSubstr("unparseable"));
}

}  // namespace
}  // namespace levee::redis
