#pragma once
// The TLS context a listener hands to each new connection, replaceable while the workers run:
// a reload (proxy::ProxyServer::reload_config) puts in the context built from the new files;
// a connection takes the current one when it starts its handshake and keeps it to its end.
// An empty slot means the listener has no TLS (a TLS ClientHello is then served as HTTP/1.1,
// which answers 400).
//
// Threading: thread-safe; current() takes a short lock, once per TLS connection.

#include <mutex>

#include "server/tls_context.hpp"

namespace levee::server {

class TlsContextSlot {
 public:
  TlsContextSlot() = default;
  explicit TlsContextSlot(TlsContextPtr context) : context_(std::move(context)) {}
  TlsContextSlot(const TlsContextSlot&) = delete;
  TlsContextSlot& operator=(const TlsContextSlot&) = delete;

  [[nodiscard]] TlsContextPtr current() const {
    std::lock_guard lock(mutex_);
    return context_;
  }
  void replace(TlsContextPtr context) {
    std::lock_guard lock(mutex_);
    context_ = std::move(context);
  }

 private:
  mutable std::mutex mutex_;
  TlsContextPtr context_;
};

}  // namespace levee::server
