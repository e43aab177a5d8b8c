#include "upstream/tls_handshake.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "admin/metrics.hpp"
#include "core/log_throttle.hpp"

namespace levee::upstream {

namespace asio = boost::asio;

void report_tls_failure(const UpstreamTransport& transport, const config::UpstreamConfig& config,
                        std::string_view reason) {
  if (transport.metrics.tls_handshake_failures != nullptr) {
    transport.metrics.tls_handshake_failures->inc();
  }
  static core::LogThrottle throttle(5);
  if (auto suppressed = throttle.admit()) {
    spdlog::warn("upstream \"{}\" ({}): TLS handshake failed: {}{}", config.name,
                 config.address.to_string(), reason,
                 *suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", *suppressed)
                                 : std::string{});
  }
}

asio::awaitable<std::optional<UpstreamError>> tls_handshake(UpstreamStream& stream,
                                                            const UpstreamTransport& transport,
                                                            const config::UpstreamConfig& config,
                                                            const bool& timed_out) {
  auto tls = std::make_unique<TlsStream>(stream.socket(), *transport.tls);
  SSL* ssl = tls->native_handle();
  const std::string& name = tls_server_name(config);
  boost::system::error_code not_ip;
  (void)asio::ip::make_address(name, not_ip);
  // RFC 6066 3: SNI carries host names only, never an address literal.
  if (not_ip) SSL_set_tlsext_host_name(ssl, name.c_str());
  if (config.tls.verify) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (not_ip) {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set1_host(ssl, name.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    }
  }
  auto [ec] = co_await tls->async_handshake(asio::ssl::stream_base::client,
                                            asio::as_tuple(asio::use_awaitable));
  if (!ec) {
    stream.use_tls(std::move(tls));
    co_return std::nullopt;
  }
  std::string reason;
  if (timed_out) {
    reason = "no handshake within connect_timeout";
  } else if (const long verify = SSL_get_verify_result(ssl); verify != X509_V_OK) {
    reason =
        std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
  } else {
    reason = ec.message();
  }
  report_tls_failure(transport, config, reason);
  if (timed_out) co_return UpstreamError{UpstreamErrorKind::connect_timeout, "TLS handshake"};
  co_return UpstreamError{UpstreamErrorKind::connect_failed, "TLS handshake: " + reason};
}

}  // namespace levee::upstream
