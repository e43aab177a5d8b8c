#pragma once
// nghttpd (Debian nghttp2-server) as a real HTTP/2 server that nobody here wrote: cleartext
// h2c with prior knowledge on 127.0.0.1, serving files from a temporary document root.
//
// nghttpd prints no ready line and cannot report a port of its own choosing, so the port is
// probed first (unused_port) and the start retried when another process took it in the
// meantime ("Could not listen"); the server is ready once nghttpd itself holds the listening
// socket (found through /proc/net/tcp and /proc/PID/fd, no connection made). The
// constructor throws std::runtime_error, with nghttpd's stderr, when it cannot start.
// The destructor stops nghttpd (Process kills it) and removes the document root.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/process.hpp"

namespace levee::testing {

struct NghttpdServer {
  // Each file is (name, content), written into the document root before nghttpd starts.
  explicit NghttpdServer(const std::vector<std::pair<std::string, std::string>>& files);
  ~NghttpdServer();
  NghttpdServer(const NghttpdServer&) = delete;
  NghttpdServer& operator=(const NghttpdServer&) = delete;

  [[nodiscard]] pid_t pid() const { return process->pid(); }

  std::string document_root;
  std::unique_ptr<Process> process;
  std::uint16_t port = 0;
};

}  // namespace levee::testing
