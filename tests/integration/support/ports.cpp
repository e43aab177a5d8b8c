#include "support/ports.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <stdexcept>
#include <string>

namespace levee::testing {
namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

}  // namespace

std::uint16_t port_from_listen_line(std::string_view line, std::string_view key) {
  const auto at = line.find(key);
  if (at == std::string_view::npos) {
    throw std::runtime_error("no '" + std::string(key) + "' in line '" + std::string(line) + "'");
  }
  std::string_view value = line.substr(at + key.size());
  value = value.substr(0, value.find_first_of(" \t\r\n"));
  const auto colon = value.rfind(':');
  unsigned port = 0;
  const char* first = colon == std::string_view::npos ? nullptr : value.data() + colon + 1;
  const char* last = value.data() + value.size();
  if (first == nullptr || std::from_chars(first, last, port).ptr != last || port == 0 ||
      port > 65535) {
    throw std::runtime_error("no port in '" + std::string(value) + "' (line '" + std::string(line) +
                             "')");
  }
  return static_cast<std::uint16_t>(port);
}

std::uint16_t unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in address = loopback(0);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

bool accepts_connections(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const sockaddr_in address = loopback(port);
  const bool connected =
      ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return connected;
}

}  // namespace levee::testing
