#pragma once
// A reused connection is in the kernel's interactive (delayed-ACK) mode: it holds the ACK
// of a response segment for up to 40 ms, hoping to piggyback it on our next request. An
// upstream that sends its header block and body in two writes with Nagle's algorithm on
// (Python's http.server, many legacy stacks) cannot send the body until that ACK arrives,
// so every reused exchange would stall 40 ms. TCP_QUICKACK leaves that mode and sends an
// ACK that is due at once; the kernel drops back into it by itself. Callers set it only
// before a read that follows one which left the response incomplete (the moment such an
// upstream waits for the ACK), so a response that arrives in one piece costs neither the call
// nor an extra ACK packet. Best effort: a failure only costs the stall it was meant to avoid.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>

namespace levee::upstream {

inline void ack_promptly(boost::asio::ip::tcp::socket& socket) {
  const int on = 1;
  (void)::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
}

}  // namespace levee::upstream
