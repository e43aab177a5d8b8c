#include "config/config.hpp"

#include <string_view>

namespace levee::config {

std::string Endpoint::to_string() const {
  // IPv6 literals are bracketed so that the port separator stays unambiguous.
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

const UpstreamConfig* Config::find_upstream(std::string_view name) const noexcept {
  for (const UpstreamConfig& upstream : upstreams) {
    if (upstream.name == name) return &upstream;
  }
  return nullptr;
}

std::string_view to_string(UpstreamProtocol protocol) noexcept {
  switch (protocol) {
    case UpstreamProtocol::http1:
      return "http1";
    case UpstreamProtocol::h2c:
      return "h2c";
    case UpstreamProtocol::h2:
      return "h2";
  }
  return "unknown";
}

std::string_view to_string(RouteMode mode) noexcept {
  switch (mode) {
    case RouteMode::pass:
      return "pass";
    case RouteMode::collapse:
      return "collapse";
    case RouteMode::batch:
      return "batch";
  }
  return "unknown";
}

std::string_view to_string(FlushPolicy policy) noexcept {
  switch (policy) {
    case FlushPolicy::immediate:
      return "immediate";
    case FlushPolicy::timer:
      return "timer";
    case FlushPolicy::size:
      return "size";
    case FlushPolicy::adaptive:
      return "adaptive";
    case FlushPolicy::learned:
      return "learned";
  }
  return "unknown";
}

std::string_view to_string(TlsVersion version) noexcept {
  switch (version) {
    case TlsVersion::tls1_2:
      return "1.2";
    case TlsVersion::tls1_3:
      return "1.3";
  }
  return "unknown";
}

std::string_view to_string(TelemetrySink sink) noexcept {
  switch (sink) {
    case TelemetrySink::none:
      return "none";
    case TelemetrySink::jsonl:
      return "jsonl";
    case TelemetrySink::kafka:
      return "kafka";
  }
  return "unknown";
}

}  // namespace levee::config
