#include "support/nghttpd.hpp"

#include <stdlib.h>  // NOLINT(modernize-deprecated-headers): mkdtemp is POSIX, not in <cstdlib>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/polling.hpp"
#include "support/ports.hpp"

namespace levee::testing {
namespace {

constexpr const char* nghttpd_binary = "/usr/sbin/nghttpd";
constexpr int start_attempts = 5;
constexpr auto start_timeout = std::chrono::seconds(10);

std::string make_document_root(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string pattern = (std::filesystem::temp_directory_path() / "levee-nghttpd-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed for " + pattern);
  }
  for (const auto& [name, content] : files) {
    const auto path = std::filesystem::path(pattern) / name;
    std::ofstream out(path, std::ios::binary);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + path.string());
  }
  return pattern;
}

// The inode of the socket listening on 127.0.0.1:port, from /proc/net/tcp; 0 when none.
std::uint64_t listening_socket_inode(std::uint16_t port) {
  char local[32];
  std::snprintf(local, sizeof local, "0100007F:%04X", port);
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the column titles
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local_address, remote_address, state, queues, timer, retransmits;
    std::uint64_t uid = 0, timeout = 0, inode = 0;
    fields >> slot >> local_address >> remote_address >> state >> queues >> timer >> retransmits >>
        uid >> timeout >> inode;
    if (local_address == local && state == "0A") return inode;  // 0A: TCP_LISTEN
  }
  return 0;
}

// Whether `pid` itself holds the socket listening on 127.0.0.1:port: another process that
// took the port after unused_port() probed it must not pass for nghttpd.
bool listens_on(pid_t pid, std::uint16_t port) {
  const std::uint64_t inode = listening_socket_inode(port);
  if (inode == 0) return false;
  const std::string wanted = "socket:[" + std::to_string(inode) + "]";
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
    std::error_code unreadable;
    if (std::filesystem::read_symlink(entry.path(), unreadable).string() == wanted) return true;
  }
  return false;
}

}  // namespace

NghttpdServer::NghttpdServer(const std::vector<std::pair<std::string, std::string>>& files)
    : document_root(make_document_root(files)) {
  std::string failures;
  for (int attempt = 0; attempt < start_attempts; ++attempt) {
    port = unused_port();
    process = std::make_unique<Process>(
        nghttpd_binary,
        std::vector<std::string>{"--no-tls", "--address=127.0.0.1", "--htdocs=" + document_root,
                                 std::to_string(port)});
    const bool settled = eventually(
        [&] { return listens_on(process->pid(), port) || !process->running(); }, start_timeout);
    if (settled && process->running()) return;
    // The port was taken between the probe and nghttpd's bind ("Could not listen").
    failures += "port " + std::to_string(port) + ": " + process->stderr_text() + "\n";
    process.reset();
  }
  std::filesystem::remove_all(document_root);
  throw std::runtime_error("nghttpd did not start after " + std::to_string(start_attempts) +
                           " attempts:\n" + failures);
}

NghttpdServer::~NghttpdServer() {
  process.reset();
  std::error_code ignored;
  std::filesystem::remove_all(document_root, ignored);
}

}  // namespace levee::testing
