#pragma once
// Turns a configured host:port into socket addresses: the one way both `serve` (ProxyServer,
// at start-up) and the preflight behind `levee check` resolve, so that check refuses exactly
// the addresses serve would fail on.
//
// Start-up only: blocks the calling thread in getaddrinfo (through Asio, numeric port).
// Names that cannot have an answer are refused without asking a nameserver: the reserved
// domain .invalid (RFC 6761 6.4), and a name that is no IPv4 address while its last label is
// all digits (no top-level domain is, RFC 3696 2), i.e. a mistyped address such as 999.1.1.1.

#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"

namespace levee::config {

// Every address of the name, in getaddrinfo's order (never empty), or why there is none.
[[nodiscard]] core::Result<std::vector<boost::asio::ip::tcp::endpoint>, std::string> resolve(
    const Endpoint& endpoint);

}  // namespace levee::config
