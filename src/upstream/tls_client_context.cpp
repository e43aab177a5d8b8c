#include "upstream/tls_client_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

namespace levee::upstream {

namespace ssl = boost::asio::ssl;

namespace {

// ALPN protocol lists in wire format: each name preceded by its length.
constexpr unsigned char k_alpn_h2[] = {2, 'h', '2'};
constexpr unsigned char k_alpn_http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// An unreadable file makes OpenSSL say only "system lib"; say what the system said.
std::optional<std::string> unreadable(const std::string& path) {
  std::ifstream file(path);
  if (file) return std::nullopt;
  return "cannot read \"" + path + "\": " + std::strerror(errno);
}

}  // namespace

std::string take_openssl_reason(std::string_view fallback) {
  std::string reason;
  for (unsigned long code = ERR_get_error(); code != 0 && reason.empty(); code = ERR_get_error()) {
    if (const char* text = ERR_reason_error_string(code)) reason = text;
  }
  ERR_clear_error();
  return reason.empty() ? std::string(fallback) : reason;
}

const std::string& tls_server_name(const config::UpstreamConfig& upstream) {
  return upstream.tls.server_name.empty() ? upstream.address.host : upstream.tls.server_name;
}

core::Result<TlsContextPtr, TlsSetupError> make_tls_client_context(
    const config::UpstreamConfig& upstream) {
  const config::UpstreamTlsConfig& tls = upstream.tls;
  if (!tls.enabled) return TlsContextPtr{};
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = context->native_handle();
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return core::unexpected(TlsSetupError{"tls", take_openssl_reason("cannot require TLS 1.2")});
  }
  boost::system::error_code ec;
  if (tls.ca_file.empty()) {
    context->set_default_verify_paths(ec);
    if (ec) return core::unexpected(TlsSetupError{"tls_ca_file", ec.message()});
  } else {
    if (auto problem = unreadable(tls.ca_file)) {
      return core::unexpected(TlsSetupError{"tls_ca_file", *problem});
    }
    context->load_verify_file(tls.ca_file, ec);
    if (ec) {
      return core::unexpected(
          TlsSetupError{"tls_ca_file", "\"" + tls.ca_file + "\" holds no usable PEM certificate: " +
                                           take_openssl_reason(ec.message())});
    }
  }
  context->set_verify_mode(tls.verify ? ssl::verify_peer : ssl::verify_none);
  if (!tls.client_cert.empty()) {
    if (auto problem = unreadable(tls.client_cert)) {
      return core::unexpected(TlsSetupError{"tls_client_cert", *problem});
    }
    context->use_certificate_chain_file(tls.client_cert, ec);
    if (ec) {
      return core::unexpected(TlsSetupError{
          "tls_client_cert", "\"" + tls.client_cert + "\" is no PEM certificate chain: " +
                                 take_openssl_reason(ec.message())});
    }
    if (auto problem = unreadable(tls.client_key)) {
      return core::unexpected(TlsSetupError{"tls_client_key", *problem});
    }
    context->use_private_key_file(tls.client_key, ssl::context::pem, ec);
    if (ec) {
      return core::unexpected(TlsSetupError{
          "tls_client_key", "\"" + tls.client_key +
                                "\" is no PEM private key: " + take_openssl_reason(ec.message())});
    }
    if (SSL_CTX_check_private_key(native) != 1) {
      return core::unexpected(TlsSetupError{
          "tls_client_key", "\"" + tls.client_key + "\" does not match the certificate in \"" +
                                tls.client_cert + "\""});
    }
  }
  const bool h2 = upstream.protocol == config::UpstreamProtocol::h2;
  // SSL_CTX_set_alpn_protos returns 0 on success, unlike most of OpenSSL.
  const int alpn = h2 ? SSL_CTX_set_alpn_protos(native, k_alpn_h2, sizeof k_alpn_h2)
                      : SSL_CTX_set_alpn_protos(native, k_alpn_http11, sizeof k_alpn_http11);
  if (alpn != 0) {
    return core::unexpected(TlsSetupError{"protocol", take_openssl_reason("cannot offer ALPN")});
  }
  return context;
}

}  // namespace levee::upstream
