// config::preflight: what serve would refuse at start-up in a valid file, reported at the key's
// file:line:column (or environment variable). Names that must not resolve use the reserved
// top-level domain .invalid (RFC 6761) and the impossible literal 999.1.1.1, so no test
// depends on an outside DNS answering a real name.

#include "config/preflight.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "common/onnx_model_builder.hpp"
#include "config/loader.hpp"

namespace levee::config {
namespace {

using ::testing::HasSubstr;
using Environment = std::map<std::string, std::string>;

// Line 1 of the TOML is the first line written; `extra` goes after these lines.
std::string toml_with(const std::string& upstream_address, const std::string& extra = "") {
  return "[server]\n"
         "listen = \"127.0.0.1:0\"\n"
         "admin_listen = \"127.0.0.1:0\"\n"
         "[upstreams.backend]\n"
         "address = \"" +
         upstream_address +
         "\"\n"
         "[[routes]]\n"
         "name = \"api\"\n"
         "upstream = \"backend\"\n" +
         extra;
}

Config load(const std::string& text, const Environment& environment = {}) {
  return load_string(text, "test.toml", environment);
}

std::string describe(const std::vector<ConfigError>& errors) {
  std::string text;
  for (const ConfigError& error : errors) text += "\n  " + error.to_string();
  return text;
}

// The single error about `key`; fails the test unless there is exactly one error in all.
ConfigError only_error(const std::vector<ConfigError>& errors, const std::string& key) {
  if (errors.size() != 1 || errors[0].key != key) {
    ADD_FAILURE() << "expected one error for " << key << ", got:" << describe(errors);
    return {};
  }
  return errors[0];
}

class TempDirectory {
 public:
  TempDirectory()
      : path_(std::filesystem::temp_directory_path() /
              ("levee-preflight-" + std::to_string(::getpid()) + "-" +
               std::to_string(reinterpret_cast<std::uintptr_t>(this)))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDirectory() { std::filesystem::remove_all(path_); }
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;
  [[nodiscard]] std::string operator/(const std::string& name) const {
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

TEST(Preflight, AConfigOfLocalAddressesPasses) {
  const Config config = load(toml_with("127.0.0.1:9000"));
  EXPECT_TRUE(preflight(config, PreflightFor::check).empty())
      << describe(preflight(config, PreflightFor::check));
  EXPECT_TRUE(preflight(config, PreflightFor::serve).empty());
}

TEST(Preflight, TheLoaderRecordsWhereEachKeyWasSet) {
  const Config config = load(toml_with("127.0.0.1:9000"), {{"LEVEE_SERVER__DRAIN_TIMEOUT", "2s"}});
  const KeyOrigin& address = config.origins.at("upstreams.backend.address");
  EXPECT_EQ(address.file, "test.toml");
  EXPECT_EQ(address.line, 5u);
  EXPECT_EQ(address.column, 11u);
  EXPECT_EQ(config.origins.at("routes[0].name").line, 7u);
  EXPECT_EQ(config.origins.at("server.drain_timeout").file,
            "environment variable LEVEE_SERVER__DRAIN_TIMEOUT");
  EXPECT_EQ(config.origins.at("server.drain_timeout").line, 0u);
  EXPECT_FALSE(config.origins.contains("server.workers"));
}

TEST(Preflight, AnUpstreamNameThatDoesNotResolveIsReportedAtItsKey) {
  const Config config = load(toml_with("no-such-host.invalid:80"));
  for (const PreflightFor purpose : {PreflightFor::check, PreflightFor::serve}) {
    const ConfigError error = only_error(preflight(config, purpose), "upstreams.backend.address");
    EXPECT_EQ(error.file, "test.toml");
    EXPECT_EQ(error.line, 5u);
    EXPECT_EQ(error.column, 11u);
    EXPECT_THAT(error.message, HasSubstr("cannot resolve \"no-such-host.invalid:80\""));
  }
}

TEST(Preflight, AListenAddressThatIsNoAddressIsReported) {
  std::string text = toml_with("127.0.0.1:9000");
  text.replace(text.find("127.0.0.1:0"), 11, "999.1.1.1:19580");
  const ConfigError error = only_error(preflight(load(text), PreflightFor::check), "server.listen");
  EXPECT_EQ(error.line, 2u);
  EXPECT_EQ(error.column, 10u);
  EXPECT_THAT(error.message, HasSubstr("cannot resolve \"999.1.1.1:19580\""));
}

TEST(Preflight, AListenAddressOfAnotherMachineIsReported) {
  std::string text = toml_with("127.0.0.1:9000");
  // TEST-NET-1 (RFC 5737): never assigned to a machine.
  const std::string admin = "admin_listen = \"127.0.0.1:0\"";
  text.replace(text.find(admin), admin.size(), "admin_listen = \"192.0.2.1:9901\"");
  const ConfigError error =
      only_error(preflight(load(text), PreflightFor::serve), "server.admin_listen");
  EXPECT_EQ(error.line, 3u);
  EXPECT_THAT(error.message, HasSubstr("cannot listen on 192.0.2.1"));
}

TEST(Preflight, AnAddressSetFromTheEnvironmentNamesTheVariable) {
  const Config config = load(toml_with("127.0.0.1:9000"),
                             {{"LEVEE_UPSTREAMS__BACKEND__ADDRESS", "no-such-host.invalid:80"}});
  const ConfigError error =
      only_error(preflight(config, PreflightFor::check), "upstreams.backend.address");
  EXPECT_EQ(error.file, "environment variable LEVEE_UPSTREAMS__BACKEND__ADDRESS");
  EXPECT_EQ(error.line, 0u);
  EXPECT_THAT(error.to_string(),
              HasSubstr("environment variable LEVEE_UPSTREAMS__BACKEND__ADDRESS: "
                        "upstreams.backend.address: cannot resolve"));
}

TEST(Preflight, ErrorsComeInFileOrder) {
  std::string text = toml_with("no-such-host.invalid:80");
  text.replace(text.find("127.0.0.1:0"), 11, "999.1.1.1:0");
  const auto errors = preflight(load(text), PreflightFor::serve);
  ASSERT_EQ(errors.size(), 2u) << describe(errors);
  EXPECT_EQ(errors[0].key, "server.listen");
  EXPECT_EQ(errors[1].key, "upstreams.backend.address");
}

std::string batch_route_with_model(const std::string& model) {
  return "mode = \"batch\"\n[routes.batch]\nupstream_path = \"/batch\"\npolicy = \"learned\"\n"
         "model = \"" +
         model + "\"\n";
}

TEST(Preflight, AMissingModelIsACheckErrorButServeStartsOnTheFallback) {
  TempDirectory directory;
  const Config config =
      load(toml_with("127.0.0.1:9000", batch_route_with_model(directory / "policy.onnx")));
  const ConfigError error =
      only_error(preflight(config, PreflightFor::check), "routes[0].batch.model");
  EXPECT_EQ(error.line, 13u);
  EXPECT_THAT(error.message, HasSubstr(directory / "policy.onnx"));
  EXPECT_THAT(error.message, HasSubstr("adaptive fallback"));
  EXPECT_TRUE(preflight(config, PreflightFor::serve).empty());
}

TEST(Preflight, AModelThatLoadsPasses) {
  TempDirectory directory;
  test::publish(directory / "policy.onnx", test::size_threshold_model(0.5F).bytes());
  const Config config =
      load(toml_with("127.0.0.1:9000", batch_route_with_model(directory / "policy.onnx")));
  EXPECT_TRUE(preflight(config, PreflightFor::check).empty())
      << describe(preflight(config, PreflightFor::check));
}

TEST(Preflight, ACollapseWindowModelThatIsNotAModelIsReported) {
  TempDirectory directory;
  {
    std::ofstream out(directory / "policy.onnx");
    out << "this is not a model";
  }
  const Config config =
      load(toml_with("127.0.0.1:9000",
                     "mode = \"collapse\"\n[routes.collapse]\nstrategy = \"window\"\n"
                     "policy = \"learned\"\nmodel = \"" +
                         (directory / "policy.onnx") + "\"\n"));
  const ConfigError error =
      only_error(preflight(config, PreflightFor::check), "routes[0].collapse.model");
  EXPECT_THAT(error.message, HasSubstr("not an ONNX model"));
}

TEST(Preflight, ATelemetryFileInAMissingDirectoryIsReportedAndNothingIsCreated) {
  TempDirectory directory;
  const std::string path = directory / "missing/events.jsonl";
  const Config config =
      load(toml_with("127.0.0.1:9000", "[telemetry]\nsink = \"jsonl\"\npath = \"" + path + "\"\n"));
  const ConfigError error = only_error(preflight(config, PreflightFor::serve), "telemetry.path");
  EXPECT_EQ(error.line, 11u);
  EXPECT_THAT(error.message, HasSubstr("cannot open \"" + path + "\" for appending"));

  const std::string good = directory / "events.jsonl";
  const Config fine =
      load(toml_with("127.0.0.1:9000", "[telemetry]\nsink = \"jsonl\"\npath = \"" + good + "\"\n"));
  EXPECT_TRUE(preflight(fine, PreflightFor::serve).empty());
  EXPECT_FALSE(std::filesystem::exists(good));
}

TEST(Preflight, AnAccessLogThatCannotBeOpenedIsReported) {
  TempDirectory directory;
  const auto access_log = [&](const std::string& path) {
    return preflight(load(toml_with("127.0.0.1:9000", "[log]\naccess_log = \"" + path + "\"\n")),
                     PreflightFor::serve);
  };
  EXPECT_TRUE(access_log(directory / "access.log").empty());
  EXPECT_THAT(only_error(access_log(directory / "missing/access.log"), "log.access_log").message,
              HasSubstr("No such file or directory"));
  {
    std::ofstream(directory / "file") << "x";
  }
  EXPECT_THAT(only_error(access_log(directory / "file/access.log"), "log.access_log").message,
              HasSubstr("Not a directory"));
  EXPECT_THAT(only_error(access_log(directory / ""), "log.access_log").message,
              HasSubstr("is a directory"));
}

TEST(Preflight, ARedisHostNameIsRefusedOnlyWhenARouteCaches) {
  const std::string redis = "[cache]\nredis = \"localhost:6379\"\n";
  EXPECT_TRUE(
      preflight(load(toml_with("127.0.0.1:9000", "") + redis), PreflightFor::serve).empty());

  const Config caching = load(toml_with("127.0.0.1:9000", "[routes.cache]\n") + redis);
  const ConfigError error = only_error(preflight(caching, PreflightFor::serve), "cache.redis");
  EXPECT_THAT(error.message, HasSubstr("must be an IP address"));
}

}  // namespace
}  // namespace levee::config
