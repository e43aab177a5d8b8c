#include "server/service_notify.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace levee::server {

NotifyOutcome notify_service_manager(std::string_view state) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  if (socket == nullptr || *socket == '\0') return NotifyOutcome::unsupervised;
  return notify_service_manager(state, socket);
}

NotifyOutcome notify_service_manager(std::string_view state, std::string_view socket) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const bool abstract = socket.starts_with('@');
  if ((!abstract && !socket.starts_with('/')) || socket.size() >= sizeof(address.sun_path)) {
    spdlog::warn("NOTIFY_SOCKET={}: not an absolute path or @name that fits sockaddr_un", socket);
    return NotifyOutcome::failed;
  }
  std::memcpy(address.sun_path, socket.data(), socket.size());
  // An abstract name starts with a NUL byte and is exactly as long as the address says.
  if (abstract) address.sun_path[0] = '\0';
  const auto length =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket.size() + (abstract ? 0 : 1));

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    spdlog::warn("NOTIFY_SOCKET={}: socket: {}", socket, std::strerror(errno));
    return NotifyOutcome::failed;
  }
  const auto sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&address), length);
  const int error = errno;
  ::close(fd);
  if (sent != static_cast<ssize_t>(state.size())) {
    spdlog::warn("NOTIFY_SOCKET={}: could not send {}: {}", socket, state,
                 sent < 0 ? std::strerror(error) : "short write");
    return NotifyOutcome::failed;
  }
  return NotifyOutcome::sent;
}

}  // namespace levee::server
