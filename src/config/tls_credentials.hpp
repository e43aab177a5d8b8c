#pragma once
// A TLS listener's credentials and protocol floor put into an OpenSSL SSL_CTX: the certificate
// chain, the private key (checked against the certificate), the TLS 1.2 cipher list and the
// minimum version. One function for both users, so that `levee check` (config/preflight.cpp,
// on a scratch context) refuses exactly what serve and a reload (server/tls_context.cpp) would
// fail on.
//
// Start-up and reload only: reads files and blocks the calling thread.

#include <optional>
#include <string>

#include "config/config.hpp"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace levee::config {

struct TlsProblem {
  // The [server] key the problem is about: "tls_cert_file", "tls_key_file", "tls_ciphers"
  // (with "admin_" in front for the admin listener's files).
  std::string key;
  std::string message;  // names the file and OpenSSL's reason
};

// Loads `tls` into `context`; `key_prefix` is "" or "admin_". OpenSSL's error queue is left
// empty either way.
[[nodiscard]] std::optional<TlsProblem> load_tls_credentials(ssl_ctx_st* context,
                                                             const TlsListenerConfig& tls,
                                                             const std::string& key_prefix);

// The same on a context of its own, for a check; nullopt when it would load.
[[nodiscard]] std::optional<TlsProblem> check_tls_credentials(const TlsListenerConfig& tls,
                                                              const std::string& key_prefix);

// Why the certificate is not valid now (expired, or not valid yet), for a warning: a client
// refuses it, but an operator renewing it must be able to start and reload. Nullopt when it is
// valid or cannot be read (check_tls_credentials reports that).
[[nodiscard]] std::optional<std::string> certificate_validity_problem(const std::string& cert_file);

}  // namespace levee::config
