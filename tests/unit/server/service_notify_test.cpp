// sd_notify's protocol as levee speaks it (server/service_notify.hpp): a datagram a listening
// AF_UNIX socket receives as is, at a path or an abstract name, and nothing at all without
// NOTIFY_SOCKET.

#include "server/service_notify.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace levee::server {
namespace {

// The service manager's end: a bound datagram socket, as systemd makes for a Type=notify unit.
class ManagerSocket {
 public:
  explicit ManagerSocket(const std::string& name) : name_(name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name.data(), name.size());
    const bool abstract = name.starts_with('@');
    if (abstract) address.sun_path[0] = '\0';
    const auto length =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + (abstract ? 0 : 1));
    bound_ = ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), length) == 0;
  }
  ~ManagerSocket() {
    ::close(fd_);
    if (!name_.starts_with('@')) std::filesystem::remove(name_);
  }
  ManagerSocket(const ManagerSocket&) = delete;
  ManagerSocket& operator=(const ManagerSocket&) = delete;

  [[nodiscard]] bool bound() const { return bound_; }

  // What is already queued: the sender returned, so a datagram it sent is there.
  [[nodiscard]] std::string received() {
    char buffer[256];
    const auto n = ::recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
    return n < 0 ? std::string{} : std::string(buffer, static_cast<std::size_t>(n));
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool bound_ = false;
};

std::string socket_path(const char* tag) {
  return (std::filesystem::temp_directory_path() /
          ("levee-notify-" + std::string(tag) + "-" + std::to_string(::getpid())))
      .string();
}

TEST(ServiceNotify, SendsTheStateToASocketPath) {
  ManagerSocket manager(socket_path("path"));
  ASSERT_TRUE(manager.bound());
  EXPECT_EQ(notify_service_manager("READY=1", socket_path("path")), NotifyOutcome::sent);
  EXPECT_EQ(manager.received(), "READY=1");
}

TEST(ServiceNotify, SendsToAnAbstractSocketNamedWithAnAt) {
  const std::string name = "@levee-notify-test-" + std::to_string(::getpid());
  ManagerSocket manager(name);
  ASSERT_TRUE(manager.bound());
  EXPECT_EQ(notify_service_manager("STOPPING=1", name), NotifyOutcome::sent);
  EXPECT_EQ(manager.received(), "STOPPING=1");
}

TEST(ServiceNotify, ReadsTheSocketFromNotifySocket) {
  ManagerSocket manager(socket_path("env"));
  ASSERT_TRUE(manager.bound());
  ::setenv("NOTIFY_SOCKET", socket_path("env").c_str(), 1);
  const auto outcome = notify_service_manager("READY=1");
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(outcome, NotifyOutcome::sent);
  EXPECT_EQ(manager.received(), "READY=1");
}

TEST(ServiceNotify, SendsNothingWithoutNotifySocket) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(notify_service_manager("READY=1"), NotifyOutcome::unsupervised);
}

TEST(ServiceNotify, ReportsAFailureInsteadOfThrowing) {
  EXPECT_EQ(notify_service_manager("READY=1", socket_path("nobody-listens")),
            NotifyOutcome::failed);
  EXPECT_EQ(notify_service_manager("READY=1", "relative/path"), NotifyOutcome::failed);
  EXPECT_EQ(notify_service_manager("READY=1", "/" + std::string(200, 'x')), NotifyOutcome::failed);
}

}  // namespace
}  // namespace levee::server
