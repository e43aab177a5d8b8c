#include "proxy/tls_setup.hpp"

#include "config/preflight.hpp"

namespace levee::proxy {

core::Result<ListenerTls, std::vector<std::string>> build_listener_tls(
    const config::Config& config) {
  ListenerTls built;
  std::vector<std::string> errors;
  const auto build = [&](const config::TlsListenerConfig& tls, const std::string& prefix,
                         bool http2, server::TlsContextPtr& out) {
    if (!tls.enabled()) return;
    auto context = server::make_tls_context(tls, http2, prefix);
    if (!context) {
      errors.push_back(
          config::error_at(config, "server." + context.error().key, context.error().message)
              .to_string());
      return;
    }
    out = std::move(context).value();
  };
  build(config.server.tls, "", config.server.http2.enabled, built.proxy);
  // The admin listener speaks HTTP/1.1 only (SessionContext::offer_http2): no h2 in its ALPN.
  build(config.server.admin_tls, "admin_", false, built.admin);
  if (!errors.empty()) return core::unexpected(std::move(errors));
  return built;
}

}  // namespace levee::proxy
