#pragma once
// nghttpd (Debian nghttp2-server) as an HTTP/2 upstream: a real HTTP/2 server that nobody
// here wrote, serving the files of a directory, in cleartext (h2c, prior knowledge) or over
// TLS with ALPN h2. Started verbose, so that its log shows which connections it served.
// nghttpd takes its port on the command line: the constructor picks a free one, retries on a
// lost race, and waits (bounded) until it accepts connections; it throws std::runtime_error
// otherwise.

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace levee::testing {

struct NghttpdOptions {
  std::string docroot;
  std::string key_file;  // with cert_file: TLS; both empty: --no-tls
  std::string cert_file;
  bool require_client_certificate = false;  // --verify-client
  std::vector<std::string> trailers;        // --trailer "name: value"
  unsigned max_concurrent_streams = 0;      // 0: nghttpd's default (100)
};

class NghttpdPeer {
 public:
  explicit NghttpdPeer(NghttpdOptions options);

  [[nodiscard]] std::string address() const;  // "127.0.0.1:PORT"
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  // The ids of the connections on which nghttpd received a SETTINGS frame (its -v log).
  [[nodiscard]] std::set<std::string> connections() const;

 private:
  std::unique_ptr<Process> process_;
  std::uint16_t port_ = 0;
};

// `openssl s_server` over TLS (one connection at a time) that answers GET / with its status
// page (-www) and ends the handshake with a fatal unrecognized_name alert unless the client
// sent `server_name` as SNI.
class SniCheckingServer {
 public:
  SniCheckingServer(const std::string& cert_file, const std::string& key_file,
                    const std::string& server_name);
  [[nodiscard]] std::string address() const;

 private:
  std::unique_ptr<Process> process_;
  std::uint16_t port_ = 0;
};

// A CA, a server certificate signed by it (for levee.test and 127.0.0.1), a client
// certificate signed by it, and an unrelated second CA, made with the openssl CLI into
// `directory` for the test that asks (nothing is committed).
struct TestCertificates {
  explicit TestCertificates(const std::string& directory);
  std::string ca;  // PEM paths
  std::string server_cert;
  std::string server_key;
  std::string client_cert;
  std::string client_key;
  std::string other_ca;
};

}  // namespace levee::testing
