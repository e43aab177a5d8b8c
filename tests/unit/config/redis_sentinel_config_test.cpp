// [cache] redis_sentinels and redis_master_name: reading them, the errors (at file:line under
// their key), preflight's IP check, an environment override, and the RedisSettings that
// cache_setup makes of them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "config/config_error.hpp"
#include "config/loader.hpp"
#include "config/preflight.hpp"
#include "proxy/cache_setup.hpp"

namespace levee::config {
namespace {

using ::testing::HasSubstr;

using Environment = std::map<std::string, std::string>;

// Lines 1-6; a [cache] table appended to it starts on line 7.
constexpr const char* base_toml = R"([upstreams.legacy]
address = "127.0.0.1:9000"
[[routes]]
name = "all"
upstream = "legacy"
[routes.cache]
)";

Config load(const std::string& cache, const Environment& environment = {}) {
  return load_string(std::string(base_toml) + cache, "test.toml", environment);
}

std::vector<ConfigError> errors_of(const std::string& cache) {
  try {
    (void)load(cache);
  } catch (const ConfigErrors& errors) {
    return errors.errors;
  }
  ADD_FAILURE() << "expected the configuration to be rejected";
  return {};
}

// The only error, which must be about `key` at test.toml:line.
ConfigError only_error(const std::string& cache, const std::string& key, std::size_t line) {
  const auto errors = errors_of(cache);
  std::string text;
  for (const ConfigError& error : errors) text += "\n  " + error.to_string();
  EXPECT_EQ(errors.size(), 1u) << text;
  if (errors.empty()) return {};
  EXPECT_EQ(errors.front().key, key) << text;
  EXPECT_EQ(errors.front().line, line) << text;
  return errors.front();
}

const std::string sentinels =
    "[cache]\nredis_sentinels = [\"127.0.0.1:26379\", \"127.0.0.2:26380\"]\n"
    "redis_master_name = \"mymaster\"\n";

TEST(RedisSentinelConfig, AbsentMeansNoSentinels) {
  const CacheConfig cache = load("").cache;
  EXPECT_TRUE(cache.redis_sentinels.empty());
  EXPECT_EQ(cache.redis_master_name, "");
  EXPECT_FALSE(cache.has_redis());
  EXPECT_TRUE(load("[cache]\nredis = \"127.0.0.1:6379\"\n").cache.has_redis());
}

TEST(RedisSentinelConfig, ReadsSentinelsInOrderAndTheMasterName) {
  const CacheConfig cache = load(sentinels).cache;
  ASSERT_EQ(cache.redis_sentinels.size(), 2u);
  EXPECT_EQ(cache.redis_sentinels[0], (Endpoint{"127.0.0.1", 26379}));
  EXPECT_EQ(cache.redis_sentinels[1], (Endpoint{"127.0.0.2", 26380}));
  EXPECT_EQ(cache.redis_master_name, "mymaster");
  EXPECT_FALSE(cache.redis.has_value());
  EXPECT_TRUE(cache.has_redis());
}

TEST(RedisSentinelConfig, RedisAndSentinelsAreExclusive) {
  const ConfigError error =
      only_error(sentinels + "redis = \"127.0.0.1:6379\"\n", "cache.redis_sentinels", 8);
  EXPECT_EQ(error.file, "test.toml");
  EXPECT_THAT(error.message, HasSubstr("not both"));
}

TEST(RedisSentinelConfig, SentinelsNeedAMasterNameAndTheNameNeedsSentinels) {
  EXPECT_THAT(
      only_error("[cache]\nredis_sentinels = [\"127.0.0.1:26379\"]\n", "cache.redis_sentinels", 8)
          .message,
      HasSubstr("needs redis_master_name"));
  EXPECT_THAT(only_error("[cache]\nredis = \"127.0.0.1:6379\"\nredis_master_name = \"m\"\n",
                         "cache.redis_master_name", 9)
                  .message,
              HasSubstr("only means something with redis_sentinels"));
  EXPECT_THAT(only_error("[cache]\nredis_sentinels = [\"127.0.0.1:26379\"]\n"
                         "redis_master_name = \"\"\n",
                         "cache.redis_master_name", 9)
                  .message,
              HasSubstr("must not be empty"));
}

TEST(RedisSentinelConfig, BadSentinelListsNameTheirElement) {
  const std::string name = "redis_master_name = \"m\"\n";
  EXPECT_THAT(only_error("[cache]\n" + name + "redis_sentinels = \"127.0.0.1:26379\"\n",
                         "cache.redis_sentinels", 9)
                  .message,
              HasSubstr("expected an array of addresses"));
  EXPECT_THAT(
      only_error("[cache]\n" + name + "redis_sentinels = []\n", "cache.redis_sentinels", 9).message,
      HasSubstr("at least one sentinel"));
  EXPECT_THAT(
      only_error("[cache]\n" + name + "redis_sentinels = [\"127.0.0.1:26379\", \"nowhere\"]\n",
                 "cache.redis_sentinels[1]", 9)
          .message,
      HasSubstr("invalid address \"nowhere\""));
  EXPECT_THAT(only_error("[cache]\n" + name + "redis_sentinels = [\"127.0.0.1:26379\", 26380]\n",
                         "cache.redis_sentinels[1]", 9)
                  .message,
              HasSubstr("expected an address string"));
  EXPECT_THAT(only_error("[cache]\n" + name +
                             "redis_sentinels = [\"127.0.0.1:26379\", \"127.0.0.1:26379\"]\n",
                         "cache.redis_sentinels[1]", 9)
                  .message,
              HasSubstr("duplicate sentinel"));
}

TEST(RedisSentinelConfig, AnEnvironmentVariableCanListTheSentinels) {
  const CacheConfig cache = load("[cache]\nredis_master_name = \"m\"\n",
                                 {{"LEVEE_CACHE__REDIS_SENTINELS", "[\"127.0.0.1:26379\"]"}})
                                .cache;
  ASSERT_EQ(cache.redis_sentinels.size(), 1u);
  EXPECT_EQ(cache.redis_sentinels[0].port, 26379);
}

TEST(RedisSentinelConfig, PreflightRefusesASentinelHostName) {
  const Config config = load(
      "[cache]\nredis_sentinels = [\"127.0.0.1:26379\", \"localhost:26380\"]\n"
      "redis_master_name = \"m\"\n");
  const auto errors = preflight(config, PreflightFor::serve);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].key, "cache.redis_sentinels[1]");
  EXPECT_THAT(errors[0].message, HasSubstr("must be an IP address"));
}

TEST(RedisSentinelConfig, RedisSettingsCarryTheSentinels) {
  const CacheConfig cache = load(sentinels).cache;
  const redis::RedisSettings settings = proxy::make_redis_settings(cache);
  ASSERT_EQ(settings.sentinels.size(), 2u);
  EXPECT_EQ(settings.sentinels[0], (redis::RedisAddress{"127.0.0.1", 26379}));
  EXPECT_EQ(settings.sentinels[1], (redis::RedisAddress{"127.0.0.2", 26380}));
  EXPECT_EQ(settings.master_name, "mymaster");
  EXPECT_EQ(settings.connect_timeout, cache.redis_connect_timeout);

  EXPECT_TRUE(proxy::same_redis_connection(settings, proxy::make_redis_settings(cache)));
  CacheConfig renamed = cache;
  renamed.redis_master_name = "other";
  EXPECT_FALSE(proxy::same_redis_connection(settings, proxy::make_redis_settings(renamed)));
  CacheConfig fewer = cache;
  fewer.redis_sentinels.pop_back();
  EXPECT_FALSE(proxy::same_redis_connection(settings, proxy::make_redis_settings(fewer)));
}

}  // namespace
}  // namespace levee::config
