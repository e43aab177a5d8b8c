// ProxyServer::reload_config (issue 17.4): a file that `levee check` refuses keeps the running
// configuration and is counted failed, with each error at its file:line; a valid one becomes
// the next generation.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/loader.hpp"
#include "proxy/proxy_server.hpp"

namespace levee::proxy {
namespace {

using ::testing::HasSubstr;

class ConfigFile {
 public:
  ConfigFile()
      : path_(std::filesystem::temp_directory_path() /
              ("levee-reload-test-" + std::to_string(::getpid()) + ".toml")) {}
  ~ConfigFile() { std::filesystem::remove(path_); }
  ConfigFile(const ConfigFile&) = delete;
  ConfigFile& operator=(const ConfigFile&) = delete;

  void write(const std::string& text) const { std::ofstream(path_) << text; }
  [[nodiscard]] std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

std::string valid(const std::string& route_extra, const std::string& listen = "127.0.0.1:0") {
  return "[server]\nlisten = \"" + listen +
         "\"\nadmin_listen = \"127.0.0.1:0\"\nworkers = 1\n"
         "[upstreams.legacy]\naddress = \"127.0.0.1:1\"\n"
         "[[routes]]\nname = \"all\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n" +
         route_extra;
}

TEST(ConfigReload, ARefusedFileKeepsTheRunningConfigurationAndAValidOneReplacesIt) {
  ConfigFile file;
  file.write(valid(""));
  ProxyServer server(config::load_file(file.path()));
  server.start();
  EXPECT_EQ(server.config_generation(), 1u);

  // Line 12 has a key the loader does not know.
  file.write(valid("max_pending = 10\nno_such_key = 1\n"));
  ReloadOutcome refused = server.reload_config();
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.attempt, 1u);
  EXPECT_EQ(refused.generation, 1u);
  ASSERT_FALSE(refused.errors.empty());
  EXPECT_THAT(refused.errors.front(), HasSubstr(file.path() + ":12:1"));
  EXPECT_THAT(refused.errors.front(), HasSubstr("no_such_key"));
  EXPECT_EQ(server.config_generation(), 1u);

  file.write(valid("max_pending = 10\n"));
  ReloadOutcome applied = server.reload_config();
  EXPECT_TRUE(applied.ok) << ::testing::PrintToString(applied.errors);
  EXPECT_EQ(applied.attempt, 2u);
  EXPECT_EQ(applied.generation, 2u);
  EXPECT_TRUE(applied.restart_needed.empty());
  EXPECT_EQ(server.config_generation(), 2u);

  // A listener change is left for a restart, and said.
  file.write(valid("", "127.0.0.1:1"));
  ReloadOutcome moved = server.reload_config();
  EXPECT_TRUE(moved.ok) << ::testing::PrintToString(moved.errors);
  ASSERT_EQ(moved.restart_needed.size(), 1u);
  EXPECT_THAT(moved.restart_needed.front(), HasSubstr("server.listen"));
  server.stop();
}

}  // namespace
}  // namespace levee::proxy
