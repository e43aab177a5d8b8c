#pragma once
// Python's http.server as an upstream (tests/peers/http_server_peer.py): a real HTTP/1.1
// stack that nobody here wrote, which answers with its header block and body in two sends
// and Nagle's algorithm on, and echoes what it received (headers, body, trailers) as JSON.
// Started on 127.0.0.1:0; the constructor waits for its ready line (bounded) and throws
// std::runtime_error if it does not come.

#include <cstdint>
#include <string>

#include "support/process.hpp"

namespace levee::testing {

struct PythonHttpPeer {
  PythonHttpPeer();

  // "127.0.0.1:PORT", for a levee config's upstream address.
  [[nodiscard]] std::string address() const;

  Process process;
  std::uint16_t port = 0;
};

}  // namespace levee::testing
