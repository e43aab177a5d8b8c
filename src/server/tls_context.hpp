#pragma once
// The server side of TLS for one listener: an Asio SSL context holding the listener's
// certificate chain and key (config/tls_credentials.hpp), TLS 1.2 or newer only, no
// compression, no renegotiation, a server-side session cache and stateless session tickets,
// and ALPN: "h2" when the client offers it and HTTP/2 is enabled, else "http/1.1" (a client
// that offers neither still gets a handshake, and then HTTP/1.1).
//
// Built at start-up and on every reload, on the controlling thread (it reads files); then
// shared read-only by the workers through a TlsContextSlot. An SSL connection holds a
// reference to the OpenSSL context it was made from, so a context replaced by a reload lives
// on in the connections that use it.

#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/tls_credentials.hpp"
#include "core/result.hpp"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace levee::server {

using TlsContextPtr = std::shared_ptr<boost::asio::ssl::context>;

// `key_prefix`: "" for server.listen, "admin_" for server.admin_listen (names the keys in
// the problem).
[[nodiscard]] core::Result<TlsContextPtr, config::TlsProblem> make_tls_context(
    const config::TlsListenerConfig& tls, bool http2_enabled, const std::string& key_prefix);

// The ALPN protocol a handshake selected ("h2", "http/1.1"), or empty when none was.
[[nodiscard]] std::string_view selected_alpn(const void* ssl_handle) noexcept;

}  // namespace levee::server
