#include "server/listening_sockets.hpp"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <fstream>
#include <sstream>

namespace levee::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view k_listen_state = "0A";  // TCP_LISTEN in the tables' hex

template <class T>
bool parse_hex(std::string_view text, T& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  return error == std::errc{} && end == text.data() + text.size();
}

// The kernel prints each 32-bit word of the address in host byte order (little-endian here).
bool parse_address(std::string_view hex, bool v6, asio::ip::address& address) {
  const std::size_t words = v6 ? 4 : 1;
  if (hex.size() != words * 8) return false;
  std::array<unsigned char, 16> bytes{};
  for (std::size_t w = 0; w < words; ++w) {
    std::uint32_t word = 0;
    if (!parse_hex(hex.substr(w * 8, 8), word)) return false;
    for (std::size_t b = 0; b < 4; ++b) {
      bytes[w * 4 + b] = static_cast<unsigned char>((word >> (8 * b)) & 0xff);
    }
  }
  if (!v6) {
    address = asio::ip::address_v4(
        asio::ip::address_v4::bytes_type{bytes[0], bytes[1], bytes[2], bytes[3]});
  } else {
    address = asio::ip::address_v6(bytes);
  }
  return true;
}

std::string read_text(const char* path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

asio::ip::address unmapped(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

}  // namespace

std::vector<ListeningSocket> parse_listening_sockets(std::string_view table, bool v6) {
  std::vector<ListeningSocket> sockets;
  std::istringstream lines{std::string(table)};
  std::string line;
  std::getline(lines, line);  // the column titles
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string slot;
    std::string local;
    std::string remote;
    std::string state;
    std::string queues;
    std::string timer;
    std::string retransmits;
    std::string uid;
    std::string timeout;
    std::string inode;
    if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode)) {
      continue;
    }
    if (state != k_listen_state) continue;
    const auto colon = local.find(':');
    if (colon == std::string::npos) continue;
    asio::ip::address address;
    std::uint16_t port = 0;
    std::uint64_t number = 0;
    if (!parse_address(std::string_view(local).substr(0, colon), v6, address) ||
        !parse_hex(std::string_view(local).substr(colon + 1), port)) {
      continue;
    }
    const auto [end, error] = std::from_chars(inode.data(), inode.data() + inode.size(), number);
    if (error != std::errc{}) continue;
    sockets.push_back(ListeningSocket{tcp::endpoint(address, port), number});
  }
  return sockets;
}

bool endpoints_overlap(const tcp::endpoint& a, const tcp::endpoint& b) {
  if (a.port() != b.port()) return false;
  const asio::ip::address x = unmapped(a.address());
  const asio::ip::address y = unmapped(b.address());
  if (x == y) return true;
  // An IPv6 wildcard listener without IPV6_V6ONLY takes IPv4 connections too; the tables do
  // not say which, so it counts as overlapping everything on its port.
  if (x.is_unspecified() && (x.is_v6() || y.is_v4())) return true;
  if (y.is_unspecified() && (y.is_v6() || x.is_v4())) return true;
  return false;
}

std::uint64_t socket_inode(int fd) {
  struct stat status{};
  if (::fstat(fd, &status) != 0) return 0;
  return static_cast<std::uint64_t>(status.st_ino);
}

std::vector<ListeningSocket> other_listeners(const tcp::endpoint& endpoint,
                                             std::span<const std::uint64_t> ours) {
  std::vector<ListeningSocket> others;
  for (const bool v6 : {false, true}) {
    const std::string table = read_text(v6 ? "/proc/net/tcp6" : "/proc/net/tcp");
    for (const ListeningSocket& socket : parse_listening_sockets(table, v6)) {
      if (!endpoints_overlap(socket.endpoint, endpoint)) continue;
      bool own = false;
      for (const std::uint64_t inode : ours) own = own || inode == socket.inode;
      if (!own) others.push_back(socket);
    }
  }
  return others;
}

std::string describe_owner(std::uint64_t inode) {
  const std::string wanted = fmt::format("socket:[{}]", inode);
  DIR* processes = ::opendir("/proc");
  if (processes == nullptr) return "another process";
  std::string found;
  while (const dirent* process = ::readdir(processes)) {
    const std::string_view pid = process->d_name;
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string_view::npos) continue;
    const std::string fd_dir = fmt::format("/proc/{}/fd", pid);
    DIR* fds = ::opendir(fd_dir.c_str());
    if (fds == nullptr) continue;
    while (const dirent* fd = ::readdir(fds)) {
      std::array<char, 64> target{};
      const std::string link = fd_dir + "/" + fd->d_name;
      const ssize_t n = ::readlink(link.c_str(), target.data(), target.size() - 1);
      if (n > 0 && std::string_view(target.data(), static_cast<std::size_t>(n)) == wanted) {
        std::string name = read_text(fmt::format("/proc/{}/comm", pid).c_str());
        while (!name.empty() && name.back() == '\n') name.pop_back();
        found = fmt::format("pid {} ({})", pid, name);
        break;
      }
    }
    ::closedir(fds);
    if (!found.empty()) break;
  }
  ::closedir(processes);
  return found.empty() ? "another process" : found;
}

}  // namespace levee::server
