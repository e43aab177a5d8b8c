#include "support/python_peer.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

namespace levee::testing {

PythonHttpPeer::PythonHttpPeer()
    : process("/usr/bin/python3", {source_path("tests/peers/http_server_peer.py")}) {
  const std::string line =
      process.wait_for_line("http_server_peer ready", std::chrono::seconds(15));
  const auto at = line.find("port=");
  if (at == std::string::npos) throw std::runtime_error("no port in: " + line);
  port = static_cast<std::uint16_t>(std::stoul(line.substr(at + 5)));
}

std::string PythonHttpPeer::address() const { return "127.0.0.1:" + std::to_string(port); }

}  // namespace levee::testing
