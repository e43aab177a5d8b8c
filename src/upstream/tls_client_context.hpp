#pragma once
// The OpenSSL client context of one upstream with TLS (http1 with tls = true, or h2): TLS 1.2
// at least, the peer verified against tls_ca_file (or the system's trust store) unless
// tls_verify = false, the client certificate when one is configured, and ALPN "h2" or
// "http/1.1" by protocol. Built once per upstream on the controlling thread (start-up, reload,
// and by the preflight to report unreadable files); shared read-only by every worker, which
// creates one SSL object per connection from it.

#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/result.hpp"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace levee::upstream {

// Why a context could not be built: the upstream's key at fault (e.g. "tls_ca_file") and
// OpenSSL's or the system's reason.
struct TlsSetupError {
  std::string key;
  std::string message;
};

using TlsContextPtr = std::shared_ptr<boost::asio::ssl::context>;

// Null (no error) when the upstream does not use TLS.
[[nodiscard]] core::Result<TlsContextPtr, TlsSetupError> make_tls_client_context(
    const config::UpstreamConfig& upstream);

// The name sent as SNI and verified in the certificate: tls_server_name, else the address host.
[[nodiscard]] const std::string& tls_server_name(const config::UpstreamConfig& upstream);

// The reason of the last OpenSSL error on this thread's queue (emptied), or `fallback`.
[[nodiscard]] std::string take_openssl_reason(std::string_view fallback);

}  // namespace levee::upstream
