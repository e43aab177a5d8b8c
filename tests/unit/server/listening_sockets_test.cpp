#include "server/listening_sockets.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <vector>

namespace levee::server {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

tcp::endpoint ep(const char* address, unsigned short port) {
  return {asio::ip::make_address(address), port};
}

TEST(ListeningSockets, ParsesTheListenersOfAProcNetTcpTable) {
  // Two listeners (127.0.0.1:46123 and 0.0.0.0:8080) and one established connection.
  const char* table =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n"
      "   0: 0100007F:B42B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
      "0 175858 1 0000000000000000 100 0 0 10 0\n"
      "   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
      "0 42 1 0000000000000000 100 0 0 10 0\n"
      "   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        "
      "0 43 1 0000000000000000 20 4 30 10 -1\n"
      "garbage\n";
  const auto sockets = parse_listening_sockets(table, false);
  ASSERT_EQ(sockets.size(), 2u);
  EXPECT_EQ(sockets[0].endpoint, ep("127.0.0.1", 46123));
  EXPECT_EQ(sockets[0].inode, 175858u);
  EXPECT_EQ(sockets[1].endpoint, ep("0.0.0.0", 8080));
  EXPECT_EQ(sockets[1].inode, 42u);
}

TEST(ListeningSockets, ParsesIpv6Addresses) {
  const char* table =
      "  sl  local_address                         remote_address                        st "
      "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 00:00000000 00000000     0        0 77 1 0000000000000000 100 0 0 10 "
      "0\n";
  const auto sockets = parse_listening_sockets(table, true);
  ASSERT_EQ(sockets.size(), 1u);
  EXPECT_EQ(sockets[0].endpoint, ep("::1", 8080));
}

TEST(ListeningSockets, OverlapMeansSamePortAndSameOrWildcardAddress) {
  EXPECT_TRUE(endpoints_overlap(ep("127.0.0.1", 80), ep("127.0.0.1", 80)));
  EXPECT_FALSE(endpoints_overlap(ep("127.0.0.1", 80), ep("127.0.0.1", 81)));
  EXPECT_FALSE(endpoints_overlap(ep("127.0.0.1", 80), ep("127.0.0.2", 80)));
  EXPECT_TRUE(endpoints_overlap(ep("0.0.0.0", 80), ep("127.0.0.1", 80)));
  EXPECT_TRUE(endpoints_overlap(ep("127.0.0.1", 80), ep("0.0.0.0", 80)));
  EXPECT_TRUE(endpoints_overlap(ep("::", 80), ep("127.0.0.1", 80)));
  EXPECT_FALSE(endpoints_overlap(ep("0.0.0.0", 80), ep("::1", 80)));
  EXPECT_TRUE(endpoints_overlap(ep("::ffff:127.0.0.1", 80), ep("127.0.0.1", 80)));
}

TEST(ListeningSockets, FindsAnotherListenerAndNotOurOwn) {
  asio::io_context io;
  tcp::acceptor ours(io, ep("127.0.0.1", 0));
  const tcp::endpoint bound = ours.local_endpoint();
  const std::vector<std::uint64_t> own{socket_inode(ours.native_handle())};
  EXPECT_TRUE(other_listeners(bound, own).empty());

  const std::vector<std::uint64_t> none;
  const auto found = other_listeners(bound, none);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].inode, own[0]);
  EXPECT_NE(describe_owner(found[0].inode).find(std::to_string(::getpid())), std::string::npos);
}

TEST(ListeningSockets, ABoundSocketThatDoesNotListenIsNotAListener) {
  asio::io_context io;
  tcp::acceptor bound_only(io);
  bound_only.open(tcp::v4());
  bound_only.bind(ep("127.0.0.1", 0));
  const std::vector<std::uint64_t> none;
  EXPECT_TRUE(other_listeners(bound_only.local_endpoint(), none).empty());
}

}  // namespace
}  // namespace levee::server
