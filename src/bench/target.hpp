#pragma once
// Where levee-bench may send traffic: an http:// URL on the loopback network only
// (127.0.0.0/8 or ::1; "localhost" means 127.0.0.1). Anything else is refused before a
// single packet is sent, so a typo cannot turn the load generator on a real host.

#include <cstdint>
#include <string>
#include <string_view>

namespace levee::bench {

struct Target {
  std::string address;  // the IP literal, without brackets
  std::uint16_t port = 80;
  std::string authority;  // the Host header: "127.0.0.1:8080", "[::1]:8080"
  std::string path;       // "/" when the URL has none
};

// Parses and checks `url`; throws std::invalid_argument with a message naming the problem.
[[nodiscard]] Target parse_target(std::string_view url);

}  // namespace levee::bench
