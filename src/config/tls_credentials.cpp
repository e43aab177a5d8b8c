#include "config/tls_credentials.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>

namespace levee::config {

namespace {

// OpenSSL's queued errors, oldest first, as one line; the queue is emptied.
std::string openssl_reason() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? std::string("unknown OpenSSL error") : out;
}

std::string in_quotes(const std::string& text) { return "\"" + text + "\""; }

// The file must be readable by this process: OpenSSL's own message ("system library") would
// hide the errno.
std::optional<std::string> unreadable(const std::string& path) {
  if (::access(path.c_str(), R_OK) == 0) return std::nullopt;
  return "cannot read " + in_quotes(path) + ": " +
         std::error_code(errno, std::generic_category()).message();
}

int min_protocol(TlsVersion version) {
  return version == TlsVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

}  // namespace

std::optional<TlsProblem> load_tls_credentials(ssl_ctx_st* context, const TlsListenerConfig& tls,
                                               const std::string& key_prefix) {
  ERR_clear_error();
  const auto problem = [&](const char* key, std::string message) {
    ERR_clear_error();
    return TlsProblem{key_prefix + key, std::move(message)};
  };
  if (auto why = unreadable(tls.cert_file)) return problem("tls_cert_file", *why);
  if (auto why = unreadable(tls.key_file)) return problem("tls_key_file", *why);
  if (SSL_CTX_use_certificate_chain_file(context, tls.cert_file.c_str()) != 1) {
    return problem("tls_cert_file", "cannot load the certificate (chain) from " +
                                        in_quotes(tls.cert_file) + ": " + openssl_reason());
  }
  if (SSL_CTX_use_PrivateKey_file(context, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return problem("tls_key_file", "cannot use the private key in " + in_quotes(tls.key_file) +
                                       " with the certificate in " + in_quotes(tls.cert_file) +
                                       ": " + openssl_reason());
  }
  if (SSL_CTX_check_private_key(context) != 1) {
    return problem("tls_key_file", "the private key in " + in_quotes(tls.key_file) +
                                       " does not match the certificate in " +
                                       in_quotes(tls.cert_file) + ": " + openssl_reason());
  }
  if (!tls.ciphers.empty() && SSL_CTX_set_cipher_list(context, tls.ciphers.c_str()) != 1) {
    // The ciphers are shared by both listeners: the key is the main one's.
    return TlsProblem{"tls_ciphers",
                      "no usable cipher in " + in_quotes(tls.ciphers) + ": " + openssl_reason()};
  }
  if (SSL_CTX_set_min_proto_version(context, min_protocol(tls.min_version)) != 1) {
    return TlsProblem{"tls_min_version", "cannot set the minimum version: " + openssl_reason()};
  }
  return std::nullopt;
}

std::optional<TlsProblem> check_tls_credentials(const TlsListenerConfig& tls,
                                                const std::string& key_prefix) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(TLS_server_method()),
                                                            &SSL_CTX_free);
  if (!context) return TlsProblem{key_prefix + "tls_cert_file", openssl_reason()};
  return load_tls_credentials(context.get(), tls, key_prefix);
}

std::optional<std::string> certificate_validity_problem(const std::string& cert_file) {
  std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(cert_file.c_str(), "r"),
                                                     &std::fclose);
  if (!file) return std::nullopt;
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_X509(file.get(), nullptr, nullptr, nullptr), &X509_free);
  ERR_clear_error();
  if (!cert) return std::nullopt;
  if (X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0) {
    return "the certificate in " + in_quotes(cert_file) + " has expired: clients will refuse it";
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert.get())) > 0) {
    return "the certificate in " + in_quotes(cert_file) +
           " is not valid yet: clients will refuse it";
  }
  return std::nullopt;
}

}  // namespace levee::config
