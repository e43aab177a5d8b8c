#pragma once
// Who listens on a TCP port, read from the kernel's socket tables (/proc/net/tcp and tcp6 of
// this network namespace). levee's workers share one port through SO_REUSEPORT, and Linux
// lets any other process of the same user join that group: a second levee with the same
// `listen` would start and silently take part of the traffic. The proxy server looks here,
// after binding and before listening, for listeners that are not its own.
//
// Start-up only (reads files, blocks); no state.

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace levee::server {

struct ListeningSocket {
  boost::asio::ip::tcp::endpoint endpoint;
  std::uint64_t inode = 0;  // the socket's inode, as fstat() and /proc/PID/fd report it
};

// The sockets in LISTEN state in one /proc/net/tcp (v6 = false) or tcp6 (v6 = true) text.
// Lines that do not parse are skipped.
[[nodiscard]] std::vector<ListeningSocket> parse_listening_sockets(std::string_view table, bool v6);

// Whether a listener on `a` can take connections meant for a listener on `b`: the same port,
// and the same address or a wildcard on either side (an IPv6 wildcard also takes IPv4).
[[nodiscard]] bool endpoints_overlap(const boost::asio::ip::tcp::endpoint& a,
                                     const boost::asio::ip::tcp::endpoint& b);

// The inode of the socket behind `fd`; 0 if fstat fails.
[[nodiscard]] std::uint64_t socket_inode(int fd);

// The listeners in this network namespace that overlap `endpoint` and are not among `ours`
// (socket inodes). Empty also when the tables cannot be read (then nothing can be said).
[[nodiscard]] std::vector<ListeningSocket> other_listeners(
    const boost::asio::ip::tcp::endpoint& endpoint, std::span<const std::uint64_t> ours);

// "pid 1234 (levee)" for the process that holds the socket, or "another process" when none
// can be found (another user's process, without the privilege to look).
[[nodiscard]] std::string describe_owner(std::uint64_t inode);

}  // namespace levee::server
