// levee's command line: check, version, and start-up errors an operator can act on.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/onnx_model_builder.hpp"
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

// What serve would refuse at start-up in a valid file (config/preflight.hpp): check finds it
// and serve reports it the same way, before it listens. Names that must not resolve are
// .invalid (RFC 6761) or impossible literals, so no outside DNS answer is needed.

std::string config_with(const std::string& from, const std::string& to, LeveeOptions options = {}) {
  auto text = make_config(options, "127.0.0.1:9");
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The first stderr line that names `key`, or "" (with a test failure).
std::string line_naming(const std::string& text, const std::string& key) {
  const auto at = text.find(": " + key + ": ");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no error for " << key << " in:\n" << text;
    return {};
  }
  const auto begin = text.rfind('\n', at);
  const auto start = begin == std::string::npos ? 0 : begin + 1;
  return text.substr(start, text.find('\n', at) - start);
}

// Runs check and serve on `path`: both exit 1, name `where` (file:line) and `key` with
// `message` on the same error line, and serve never gets ready.
void expect_check_and_serve_refuse(const std::string& path, const std::string& where,
                                   const std::string& key, const std::string& message) {
  Process check(binary_path("levee"), {"check", "--config", path});
  EXPECT_EQ(check.wait_exit(30s), 1);
  const std::string checked = line_naming(check.stderr_text(), key);
  EXPECT_TRUE(checked.starts_with(where)) << checked;
  EXPECT_NE(checked.find(message), std::string::npos) << checked;
  EXPECT_EQ(check.stdout_text().find("ok"), std::string::npos) << check.stdout_text();

  Process serve(binary_path("levee"), {"serve", "--config", path});
  EXPECT_EQ(serve.wait_exit(30s), 1);
  EXPECT_EQ(line_naming(serve.stderr_text(), key), checked);
  EXPECT_EQ(serve.stdout_text().find("levee ready"), std::string::npos) << serve.stdout_text();
}

TEST(Cli, CheckAndServeRefuseAListenAddressThatDoesNotResolve) {
  TempDir dir;
  const auto path =
      write_file(dir.path() / "levee.toml",
                 config_with("listen = \"127.0.0.1:0\"", "listen = \"999.1.1.1:19580\""));
  expect_check_and_serve_refuse(path, path + ":2:10: ", "server.listen",
                                "cannot resolve \"999.1.1.1:19580\"");
}

TEST(Cli, CheckAndServeRefuseAnUpstreamThatDoesNotResolve) {
  TempDir dir;
  const auto path = write_file(dir.path() / "levee.toml",
                               config_with("\"127.0.0.1:9\"", "\"no-such-host.invalid:80\""));
  expect_check_and_serve_refuse(path, path + ":10:11: ", "upstreams.legacy.address",
                                "cannot resolve \"no-such-host.invalid:80\"");
}

TEST(Cli, CheckAndServeRefuseADirectoryAsTheConfig) {
  TempDir dir;
  const std::string path = dir.path().string();
  for (const char* command : {"check", "serve"}) {
    Process p(binary_path("levee"), {command, "--config", path});
    EXPECT_EQ(p.wait_exit(10s), 1) << command;
    EXPECT_NE(p.stderr_text().find(path + ": is a directory"), std::string::npos)
        << command << ": " << p.stderr_text();
    EXPECT_EQ(p.stderr_text().find("upstream is required"), std::string::npos) << p.stderr_text();
    EXPECT_EQ(p.stdout_text().find("levee ready"), std::string::npos) << p.stdout_text();
  }
}

// A config whose collapse route runs `learned` on models/policy.onnx next to it.
std::string write_learned_route_config(const TempDir& dir) {
  LeveeOptions options;
  options.routes =
      "[[routes]]\nname = \"api\"\nupstream = \"legacy\"\nmode = \"collapse\"\n"
      "[routes.collapse]\nstrategy = \"window\"\npolicy = \"learned\"\n"
      "model = \"models/policy.onnx\"\n";
  return write_file(dir.path() / "levee.toml", make_config(options, "127.0.0.1:9"));
}

// `levee check` refuses the config; its error line on the model key, which must name the
// key's place in the file.
std::string check_error_on_model(const std::string& path) {
  Process check(binary_path("levee"), {"check", "--config", path});
  EXPECT_EQ(check.wait_exit(10s), 1);
  std::string error = line_naming(check.stderr_text(), "routes[0].collapse.model");
  EXPECT_TRUE(error.starts_with(path + ":20:9: ")) << error;
  return error;
}

TEST(Cli, CheckRefusesAMissingModelThatServeStartsWithoutOnTheFallback) {
  TempDir dir;
  const auto path = write_learned_route_config(dir);
  const std::string error = check_error_on_model(path);
  EXPECT_NE(error.find((dir.path() / "models/policy.onnx").string()), std::string::npos) << error;
  EXPECT_NE(error.find("adaptive fallback"), std::string::npos) << error;

  // Serve starts the route on adaptive and loads the model when it is published.
  LeveeProcess serve(path);
  EXPECT_GT(serve.port, 0);
}

TEST(Cli, AModelOfAnotherObservationVersionIsRefusedByCheckAndLoggedByServe) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "models");
  // What `make train` wrote before observation version 2: four inputs, no declared version.
  test::publish(dir.path() / "models/policy.onnx", test::size_threshold_model(0.5F, 4, 0).bytes());
  const auto path = write_learned_route_config(dir);
  const std::string error = check_error_on_model(path);
  EXPECT_NE(error.find("declares no observation version"), std::string::npos) << error;
  EXPECT_NE(error.find("observation version 2 with 9 features"), std::string::npos) << error;

  // Serve starts (on the adaptive fallback) and says why the model was refused.
  LeveeProcess serve(path);
  ASSERT_GT(serve.port, 0);
  EXPECT_NE(serve.process.stderr_text().find("observation version"), std::string::npos)
      << serve.process.stderr_text();
}

TEST(Cli, CheckStillAcceptsAConfigServeStartsWith) {
  TempDir dir;
  LeveeOptions options;
  options.log_extra = "access_log = \"" + (dir.path() / "access.log").string() + "\"";
  const auto path = write_file(dir.path() / "levee.toml", make_config(options, "localhost:9"));
  Process p(binary_path("levee"), {"check", "--config", path});
  EXPECT_EQ(p.wait_exit(30s), 0) << p.stderr_text();
  EXPECT_NE(p.stdout_text().find(path + ": ok"), std::string::npos) << p.stdout_text();
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "access.log"));
}

TEST(Cli, EnvironmentOverridesAValue) {
  Stack stack({}, {}, {{"LEVEE_SERVER__WORKERS", "1"}});
  auto stats = http_get(stack.admin_port(), "/stats");
  ASSERT_TRUE(stats.ok) << stats;
  EXPECT_NE(stats.body.find("\"workers\":1"), std::string::npos) << stats.body;
}

}  // namespace
}  // namespace levee::testing
