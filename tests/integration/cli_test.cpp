// levee's command line: check, version, and start-up errors an operator can act on.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "levee_fixture.hpp"
#include "support/process.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

TEST(Cli, VersionPrintsTheVersion) {
  Process p(binary_path("levee"), {"--version"});
  EXPECT_EQ(p.wait_exit(10s), 0);
  EXPECT_NE(p.stdout_text().find("levee 0."), std::string::npos) << p.stdout_text();
}

TEST(Cli, CheckAcceptsTheExampleConfig) {
  Process p(binary_path("levee"), {"check", "--config", source_path("examples/levee.toml")});
  EXPECT_EQ(p.wait_exit(10s), 0) << p.stderr_text();
  EXPECT_NE(p.stdout_text().find("ok"), std::string::npos);
}

TEST(Cli, CheckRejectsABadConfigNamingFileLineAndKey) {
  TempDir dir;
  const auto path = write_file(dir.path() / "bad.toml",
                               "[server]\nlisten = \"127.0.0.1:8080\"\nwokers = 2\n"
                               "[upstreams.legacy]\naddress = \"127.0.0.1:9000\"\n"
                               "connect_timeout = 5\n"
                               "[[routes]]\nname = \"r\"\nupstream = \"nope\"\n");
  Process p(binary_path("levee"), {"check", "--config", path});
  EXPECT_EQ(p.wait_exit(10s), 1);
  const auto err = p.stderr_text();
  EXPECT_NE(err.find(path + ":3"), std::string::npos) << err;
  EXPECT_NE(err.find("server.wokers"), std::string::npos) << err;
  EXPECT_NE(err.find("upstreams.legacy.connect_timeout"), std::string::npos) << err;
  EXPECT_NE(err.find(path + ":6"), std::string::npos) << err;
  EXPECT_NE(err.find("routes[0].upstream"), std::string::npos) << err;
}

TEST(Cli, CheckRejectsAMissingFile) {
  Process p(binary_path("levee"), {"check", "--config", "/nonexistent/levee.toml"});
  EXPECT_EQ(p.wait_exit(10s), 1);
  EXPECT_NE(p.stderr_text().find("/nonexistent/levee.toml"), std::string::npos);
}

TEST(Cli, ServeWithBadConfigExitsNonZeroWithoutListening) {
  TempDir dir;
  const auto path = write_file(dir.path() / "bad.toml", "[server]\nworkers = \"two\"\n");
  Process p(binary_path("levee"), {"serve", "--config", path});
  EXPECT_EQ(p.wait_exit(10s), 1);
  EXPECT_NE(p.stderr_text().find("server.workers"), std::string::npos) << p.stderr_text();
}

TEST(Cli, ServeReportsAPortInUse) {
  // A plain listening socket (without SO_REUSEPORT) holds the port, so levee's bind fails.
  const int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(holder, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const auto port = ntohs(address.sin_port);

  TempDir dir;
  LeveeOptions options;
  auto text = make_config(options, "127.0.0.1:9");
  const std::string ephemeral = "listen = \"127.0.0.1:0\"";
  text.replace(text.find(ephemeral), ephemeral.size(),
               "listen = \"127.0.0.1:" + std::to_string(port) + "\"");
  const auto path = write_file(dir.path() / "levee.toml", text);
  Process p(binary_path("levee"), {"serve", "--config", path});
  EXPECT_EQ(p.wait_exit(10s), 1);
  EXPECT_NE(p.stderr_text().find("cannot listen on 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << p.stderr_text();
  ::close(holder);
}

TEST(Cli, EnvironmentOverridesAValue) {
  Stack stack({}, {}, {{"LEVEE_SERVER__WORKERS", "1"}});
  auto stats = http_get(stack.admin_port(), "/stats");
  ASSERT_TRUE(stats.ok) << stats;
  EXPECT_NE(stats.body.find("\"workers\":1"), std::string::npos) << stats.body;
}

}  // namespace
}  // namespace levee::testing
