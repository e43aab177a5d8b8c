#include "server/tls_context.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <string>

namespace levee::server {

namespace asio = boost::asio;

namespace {

constexpr std::string_view k_h2 = "h2";
constexpr std::string_view k_http11 = "http/1.1";

// Walks the client's ALPN list (length-prefixed names) for `wanted`.
bool offered(const unsigned char* in, unsigned int in_len, std::string_view wanted) {
  for (unsigned int i = 0; i < in_len;) {
    const unsigned int length = in[i];
    if (i + 1 + length > in_len) return false;
    if (std::string_view(reinterpret_cast<const char*>(in + i + 1), length) == wanted) return true;
    i += 1 + length;
  }
  return false;
}

// The callbacks take no argument of ours: a context replaced by a reload may still serve
// handshakes of connections made from it, so nothing it points to may be freed before it.
int select_protocol(const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                    unsigned int in_len, bool http2) {
  for (const std::string_view protocol : {k_h2, k_http11}) {
    if (protocol == k_h2 && !http2) continue;
    if (offered(in, in_len, protocol)) {
      *out = reinterpret_cast<const unsigned char*>(protocol.data());
      *out_len = static_cast<unsigned char>(protocol.size());
      return SSL_TLSEXT_ERR_OK;
    }
  }
  // Nothing we speak was offered (e.g. only "spdy/3"): go on without ALPN, and HTTP/1.1.
  return SSL_TLSEXT_ERR_NOACK;
}

int select_with_h2(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                   unsigned int in_len, void*) {
  return select_protocol(out, out_len, in, in_len, true);
}

int select_without_h2(SSL*, const unsigned char** out, unsigned char* out_len,
                      const unsigned char* in, unsigned int in_len, void*) {
  return select_protocol(out, out_len, in, in_len, false);
}

// Sessions resumed from the server cache skip the full handshake's key exchange; the cache
// is per context (so per reload), which keeps a new certificate from resuming old sessions.
constexpr long k_session_cache_size = 20 * 1024;
constexpr long k_session_timeout_seconds = 300;
constexpr std::string_view k_session_id_context = "levee";

}  // namespace

core::Result<TlsContextPtr, config::TlsProblem> make_tls_context(
    const config::TlsListenerConfig& tls, bool http2_enabled, const std::string& key_prefix) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  if (auto problem = config::load_tls_credentials(native, tls, key_prefix)) {
    return core::unexpected(std::move(*problem));
  }
  // No compression (CRIME), no renegotiation (a client-driven CPU cost and an old attack
  // surface), the server's cipher order, and a fresh ECDH key per handshake.
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_SINGLE_ECDH_USE);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(native, k_session_cache_size);
  SSL_CTX_set_timeout(native, k_session_timeout_seconds);
  SSL_CTX_set_session_id_context(
      native, reinterpret_cast<const unsigned char*>(k_session_id_context.data()),
      static_cast<unsigned int>(k_session_id_context.size()));
  SSL_CTX_set_alpn_select_cb(native, http2_enabled ? &select_with_h2 : &select_without_h2, nullptr);
  return context;
}

std::string_view selected_alpn(const void* ssl_handle) noexcept {
  const unsigned char* name = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(static_cast<const SSL*>(ssl_handle), &name, &length);
  return name == nullptr ? std::string_view{}
                         : std::string_view(reinterpret_cast<const char*>(name), length);
}

}  // namespace levee::server
