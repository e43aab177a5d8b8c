#include "support/nghttpd_peer.hpp"

#include <chrono>
#include <fstream>
#include <regex>
#include <stdexcept>

#include "support/polling.hpp"
#include "support/ports.hpp"

namespace levee::testing {

namespace {

constexpr int k_start_attempts = 5;

// Runs the openssl CLI to the end; throws with its stderr when it fails.
void openssl(std::vector<std::string> args) {
  Process process("/usr/bin/openssl", std::move(args));
  if (process.wait_exit(std::chrono::seconds(60)) != 0) {
    throw std::runtime_error("openssl failed: " + process.stderr_text());
  }
}

}  // namespace

NghttpdPeer::NghttpdPeer(NghttpdOptions options) {
  for (int attempt = 0; attempt < k_start_attempts; ++attempt) {
    port_ = unused_port();
    std::vector<std::string> args{"-v", "-a", "127.0.0.1", "-d", options.docroot};
    if (options.key_file.empty()) args.emplace_back("--no-tls");
    if (options.require_client_certificate) args.emplace_back("--verify-client");
    for (const auto& trailer : options.trailers) args.push_back("--trailer=" + trailer);
    if (options.max_concurrent_streams != 0) {
      args.push_back("--max-concurrent-streams=" + std::to_string(options.max_concurrent_streams));
    }
    args.push_back(std::to_string(port_));
    if (!options.key_file.empty()) {
      args.push_back(options.key_file);
      args.push_back(options.cert_file);
    }
    process_ = std::make_unique<Process>("/usr/sbin/nghttpd", std::move(args));
    // Either it listens, or it exits (the port was taken meanwhile) and another port is tried.
    if (eventually([&] { return accepts_connections(port_) || !process_->running(); },
                   std::chrono::seconds(10)) &&
        process_->running()) {
      return;
    }
  }
  throw std::runtime_error("nghttpd did not start: " + process_->stderr_text() +
                           process_->stdout_text());
}

std::string NghttpdPeer::address() const { return "127.0.0.1:" + std::to_string(port_); }

std::set<std::string> NghttpdPeer::connections() const {
  static const std::regex settings(R"(\[id=(\d+)\][^\n]*recv SETTINGS frame)");
  const std::string log = process_->stdout_text();
  std::set<std::string> ids;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), settings);
       it != std::sregex_iterator(); ++it) {
    ids.insert((*it)[1].str());
  }
  return ids;
}

SniCheckingServer::SniCheckingServer(const std::string& cert_file, const std::string& key_file,
                                     const std::string& server_name) {
  for (int attempt = 0; attempt < k_start_attempts; ++attempt) {
    port_ = unused_port();
    // -cert2 is the context chosen for `server_name`; -servername_fatal refuses any other.
    process_ = std::make_unique<Process>(
        "/usr/bin/openssl",
        std::vector<std::string>{"s_server", "-accept", "127.0.0.1:" + std::to_string(port_),
                                 "-cert", cert_file, "-key", key_file, "-cert2", cert_file, "-key2",
                                 key_file, "-servername", server_name, "-servername_fatal", "-www",
                                 "-naccept", "100"});
    try {
      (void)process_->wait_for_line("ACCEPT", std::chrono::seconds(10));
      return;
    } catch (const std::runtime_error&) {
      if (attempt + 1 == k_start_attempts) throw;
    }
  }
}

std::string SniCheckingServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

TestCertificates::TestCertificates(const std::string& directory)
    : ca(directory + "/ca.pem"),
      server_cert(directory + "/server.pem"),
      server_key(directory + "/server.key"),
      client_cert(directory + "/client.pem"),
      client_key(directory + "/client.key"),
      other_ca(directory + "/other-ca.pem") {
  const std::string ca_key = directory + "/ca.key";
  const std::string other_key = directory + "/other-ca.key";
  const std::string san = directory + "/san.ext";
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=levee test CA"});
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", other_key, "-out", other_ca, "-days", "2", "-subj", "/CN=unrelated CA"});
  std::ofstream(san) << "subjectAltName=DNS:levee.test,IP:127.0.0.1\n";
  const auto sign = [&](const std::string& cert, const std::string& key, const std::string& cn,
                        bool with_san) {
    const std::string csr = cert + ".csr";
    openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", key, "-out", csr, "-subj", "/CN=" + cn});
    std::vector<std::string> args{
        "x509", "-req", "-in",   csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert,   "-days", "2"};
    if (with_san) {
      args.emplace_back("-extfile");
      args.push_back(san);
    }
    openssl(std::move(args));
  };
  sign(server_cert, server_key, "levee.test", true);
  sign(client_cert, client_key, "levee client", false);
}

}  // namespace levee::testing
