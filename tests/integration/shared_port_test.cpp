// Issue 16.3: a second levee with the same `listen` and another `admin_listen` started, said
// "levee ready" and took about half of the traffic through SO_REUSEPORT. Only one process's
// workers may share a listener: a second one fails with "address in use" naming the key,
// unless it is started with --handover for a planned hand-over.

#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"
#include "support/process.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

// A config for a second levee on `listen_port`, in front of the first stack's upstream.
std::string second_config(const Stack& first, std::uint16_t listen_port) {
  LeveeOptions options;
  options.workers = 2;
  std::string text = make_config(options, first.upstream.address());
  const std::string from = "listen = \"127.0.0.1:0\"";
  text.replace(text.find(from), from.size(),
               "listen = \"127.0.0.1:" + std::to_string(listen_port) + "\"");
  return text;
}

std::uint64_t requests_answered(std::uint16_t admin_port) {
  return metric_value(admin_port, "levee_requests_total{route=\"all\",class=\"2xx\"}");
}

TEST(SharedPort, ASecondLeveeOnTheSamePortFailsNamingTheKeyAndTakesNothing) {
  Stack first;
  TempDir dir;
  const auto path = write_file(dir.path() / "second.toml", second_config(first, first.port()));
  Process second(binary_path("levee"), {"serve", "--config", path});
  EXPECT_EQ(second.wait_exit(15s), 1);
  const std::string err = second.stderr_text();
  EXPECT_NE(err.find(path + ":2:"), std::string::npos) << err;
  EXPECT_NE(err.find("server.listen"), std::string::npos) << err;
  EXPECT_NE(err.find("Address already in use"), std::string::npos) << err;
  EXPECT_NE(err.find("(levee)"), std::string::npos) << err;
  EXPECT_EQ(second.stdout_text().find("levee ready"), std::string::npos) << second.stdout_text();

  // Every request still reaches the first levee.
  constexpr int k_requests = 20;
  const std::uint64_t before = requests_answered(first.admin_port());
  for (int i = 0; i < k_requests; ++i) {
    const auto r = http_get(first.port(), "/api/shared");
    ASSERT_TRUE(r.ok) << r;
    EXPECT_EQ(r.status, 200);
  }
  EXPECT_TRUE(eventually([&] {
    return requests_answered(first.admin_port()) == before + k_requests;
  })) << requests_answered(first.admin_port()) - before;
}

TEST(SharedPort, APortHeldWithoutReusePortIsAddressInUseNamingTheKey) {
  Stack first;
  TempDir dir;
  // The first levee's admin listener does not share its port.
  const auto path =
      write_file(dir.path() / "second.toml", second_config(first, first.admin_port()));
  Process second(binary_path("levee"), {"serve", "--config", path});
  EXPECT_EQ(second.wait_exit(15s), 1);
  const std::string err = second.stderr_text();
  EXPECT_NE(err.find("server.listen"), std::string::npos) << err;
  EXPECT_NE(err.find("Address already in use"), std::string::npos) << err;
}

TEST(SharedPort, HandoverStartsBesideTheOldLeveeWhichThenDrains) {
  Stack first;
  TempDir dir;
  const auto path = write_file(dir.path() / "second.toml", second_config(first, first.port()));
  Process second(binary_path("levee"), {"serve", "--config", path, "--handover"});
  (void)second.wait_for_line("levee ready", 15s);
  EXPECT_NE(second.stderr_text().find("--handover: sharing"), std::string::npos)
      << second.stderr_text();

  ASSERT_TRUE(first.levee.process.send_signal(SIGTERM));
  EXPECT_EQ(first.levee.process.wait_exit(15s), 0) << first.levee.process.stderr_text();
  for (int i = 0; i < 10; ++i) {
    const auto r = http_get(first.port(), "/api/after-handover");
    ASSERT_TRUE(r.ok) << r;
    EXPECT_EQ(r.status, 200);
  }
  ASSERT_TRUE(second.send_signal(SIGTERM));
  EXPECT_EQ(second.wait_exit(15s), 0) << second.stderr_text();
}

}  // namespace
}  // namespace levee::testing
