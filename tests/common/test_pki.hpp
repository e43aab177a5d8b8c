#pragma once
// A throwaway certificate authority and the certificates it issues, made with the openssl CLI
// in a fresh temporary directory that is removed with the object: no key is ever committed.
// EC P-256 keys (fast to make); each certificate is for IP 127.0.0.1 and DNS localhost.
//
// Start-up of a test only: runs openssl as child processes (std::system) and blocks. Throws
// std::runtime_error naming the command that failed.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace levee::testing {

class TestPki {
 public:
  struct Issued {
    std::string cert;  // PEM file: the certificate, then the CA's (a chain)
    std::string key;   // PEM file
  };

  TestPki() {
    std::string pattern = (std::filesystem::temp_directory_path() / "levee-pki-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
        path("ca.key") + " -out " + path("ca.pem") + " -days 30 -subj /CN=levee-test-ca");
    std::ofstream(dir_ / "san.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  }
  ~TestPki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  // A certificate for `common_name` with `serial` (hex digits), signed by the CA; `days` < 0
  // makes one that has already expired.
  Issued issue(const std::string& name, const std::string& common_name, const std::string& serial,
               int days = 30) {
    const std::string key = path(name + ".key");
    const std::string csr = path(name + ".csr");
    const std::string leaf = path(name + ".leaf.pem");
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + key +
        " -out " + csr + " -subj /CN=" + common_name);
    run("openssl x509 -req -in " + csr + " -CA " + path("ca.pem") + " -CAkey " + path("ca.key") +
        " -set_serial 0x" + serial + " -days " + std::to_string(days) + " -extfile " +
        path("san.ext") + " -out " + leaf);
    const std::string chain = path(name + ".pem");
    run("cat " + leaf + " " + path("ca.pem") + " > " + chain);
    return {chain, key};
  }

  [[nodiscard]] std::string ca_cert() const { return path("ca.pem"); }
  [[nodiscard]] std::string path(const std::string& file) const { return (dir_ / file).string(); }

 private:
  static void run(const std::string& command) {
    if (std::system(("{ " + command + "; } >/dev/null 2>&1").c_str()) != 0) {
      throw std::runtime_error("test PKI: failed: " + command);
    }
  }

  std::filesystem::path dir_;
};

}  // namespace levee::testing
