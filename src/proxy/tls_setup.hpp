#pragma once
// The TLS contexts of the proxy and admin listeners, built from a configuration at start-up
// and again on each reload (a renewed certificate at the same path is read again). A listener
// without TLS gets a null context.
//
// Threading: the controlling thread; reads files.

#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"
#include "server/tls_context.hpp"

namespace levee::proxy {

struct ListenerTls {
  server::TlsContextPtr proxy;
  server::TlsContextPtr admin;
};

// Errors are "file:line:column: server.KEY: message", as the loader's.
[[nodiscard]] core::Result<ListenerTls, std::vector<std::string>> build_listener_tls(
    const config::Config& config);

}  // namespace levee::proxy
