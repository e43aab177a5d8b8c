#pragma once
// Port helpers for integration tests. Prefer port 0 and reading the real port from a
// process's ready line (port_from_listen_line); unused_port() is for the rare setting that
// must be written into a config before the process starts, and is racy by nature (another
// process may take the port between the probe and the bind).

#include <cstdint>
#include <string_view>

namespace levee::testing {

// The port of "... listen=127.0.0.1:PORT ..." (or "[::1]:PORT"); `key` names the field.
// Throws std::runtime_error when the line has no such field.
[[nodiscard]] std::uint16_t port_from_listen_line(std::string_view line,
                                                  std::string_view key = "listen=");

// A port that was free on 127.0.0.1 a moment ago.
[[nodiscard]] std::uint16_t unused_port();

// True if something accepts TCP connections on 127.0.0.1:port right now.
[[nodiscard]] bool accepts_connections(std::uint16_t port);

}  // namespace levee::testing
