#pragma once
// What a loaded, valid Config can still fail on when serve starts: the checks against the
// machine it runs on (names that do not resolve, files that cannot be opened). `levee serve`
// runs them before it builds the ProxyServer and `levee check` runs the same function, so
// that check passes what serve starts with.
//
// Each problem is a ConfigError at the place its key was set (Config::origins): file, line
// and column, or the environment variable; a key left at its default names the file alone.
// They come sorted like the loader's errors, positioned ones first in file order.
//
// Start-up only: runs on the calling thread and blocks it. Name lookups run concurrently, each
// abandoned after k_lookup_timeout (its thread is left to finish on its own, since getaddrinfo
// cannot be cancelled). Nothing is created: files and directories are checked, not opened.
//
// The checks:
// - server.listen, server.admin_listen, upstreams.NAME.address: resolved as serve resolves
//   them (getaddrinfo through Asio, numeric port; a name under .invalid or a non-address
//   ending in a number, such as 999.1.1.1, fails at once without asking a nameserver); the
//   first listen address, the one serve binds, must also be an address of this machine
//   (probed by binding its port 0).
// - cache.redis and cache.redis_sentinels, when a route caches: IP addresses (the Redis
//   client takes no host name).
// - upstreams.NAME.tls_ca_file, tls_client_cert, tls_client_key: readable PEM that loads into
//   the upstream's TLS client context, the key matching the certificate.
// - log.access_log, and telemetry.path with sink = "jsonl": the file can be opened for
//   appending, or created in its (existing) directory.
// - server.tls_cert_file / tls_key_file (and the admin_ ones): readable, PEM, the key matches
//   the certificate, the cipher list has a cipher (config/tls_credentials.hpp); a certificate
//   that has expired or is not valid yet is logged as a warning, not refused.
// - For check only: routes[i].collapse.model and routes[i].batch.model of learned policies
//   load. Serve starts such a route on the adaptive fallback and keeps trying the file (a
//   model published after start-up is a supported deployment), so serve does not refuse it;
//   check does, so that a CI run catches a wrong path.

#include <chrono>
#include <vector>

#include "config/config.hpp"
#include "config/config_error.hpp"

namespace levee::config {

inline constexpr std::chrono::seconds k_lookup_timeout{10};

enum class PreflightFor {
  serve,  // what serve refuses to start with
  check,  // that, and what serve would start with but not as configured
};

[[nodiscard]] std::vector<ConfigError> preflight(const Config& config, PreflightFor purpose);

// An error about `key` at the place it was set (Config::origins), or naming the file alone
// when the key was left at its default: for start-up failures found after the preflight.
[[nodiscard]] ConfigError error_at(const Config& config, const std::string& key,
                                   std::string message);

}  // namespace levee::config
