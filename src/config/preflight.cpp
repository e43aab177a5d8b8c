#include "config/preflight.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "config/resolve.hpp"
#include "config/tls_credentials.hpp"
#include "policy/observation.hpp"
#include "policy/onnx_model.hpp"
#include "upstream/tls_client_context.hpp"

namespace levee::config {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string in_quotes(const std::string& text) { return "\"" + text + "\""; }

std::string errno_message(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// ---------------------------------------------------------------------------------------------
// Name resolution.

struct LookupResult {
  std::optional<tcp::endpoint> first;  // the address serve binds or connects to first
  std::string problem;
};

// As ProxyServer resolves an address at start-up; the first address is the one serve binds
// or connects to first.
LookupResult look_up(const Endpoint& endpoint) {
  auto resolved = resolve(endpoint);
  if (!resolved) return {std::nullopt, resolved.error()};
  return {resolved.value().front(), {}};
}

struct Lookup {
  std::string key;
  const Endpoint* endpoint = nullptr;
  bool listen = false;
  std::future<LookupResult> result;
  std::thread thread;
};

// Binding port 0 on the address finds an address that is not this machine's without taking
// the configured port, which a running levee may hold.
std::optional<std::string> bind_problem(const tcp::endpoint& endpoint) {
  asio::io_context io;
  tcp::acceptor acceptor(io);
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.bind(tcp::endpoint(endpoint.address(), 0), ec);
  if (!ec) return std::nullopt;
  return "cannot listen on " + endpoint.address().to_string() + ": " + ec.message();
}

void check_addresses(const Config& config, std::vector<ConfigError>& errors) {
  std::vector<Lookup> lookups;
  lookups.push_back({"server.listen", &config.server.listen, true, {}, {}});
  lookups.push_back({"server.admin_listen", &config.server.admin_listen, true, {}, {}});
  for (const UpstreamConfig& upstream : config.upstreams) {
    lookups.push_back(
        {"upstreams." + upstream.name + ".address", &upstream.address, false, {}, {}});
  }
  for (Lookup& lookup : lookups) {
    // The thread owns the promise and a copy of the endpoint: it may outlive this function
    // when its lookup is abandoned.
    std::promise<LookupResult> promise;
    lookup.result = promise.get_future();
    lookup.thread =
        std::thread([endpoint = *lookup.endpoint, promise = std::move(promise)]() mutable {
          promise.set_value(look_up(endpoint));
        });
  }
  const auto deadline = std::chrono::steady_clock::now() + k_lookup_timeout;
  for (Lookup& lookup : lookups) {
    const std::string address = in_quotes(lookup.endpoint->to_string());
    if (lookup.result.wait_until(deadline) != std::future_status::ready) {
      lookup.thread.detach();
      errors.push_back(error_at(config, lookup.key,
                                "cannot resolve " + address + ": no answer within " +
                                    std::to_string(k_lookup_timeout.count()) + "s"));
      continue;
    }
    lookup.thread.join();
    const LookupResult result = lookup.result.get();
    if (!result.first) {
      errors.push_back(
          error_at(config, lookup.key, "cannot resolve " + address + ": " + result.problem));
    } else if (lookup.listen) {
      if (auto problem = bind_problem(*result.first)) {
        errors.push_back(error_at(config, lookup.key, *problem));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Files.

std::string parent_directory(const std::string& path) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? std::string(".") : parent;
}

// Why `path` cannot be opened for appending (created if missing, its directory not), or
// nullopt; as serve opens the access log and the JSONL telemetry file.
std::optional<std::string> append_problem(const std::string& path) {
  struct stat status{};
  if (::stat(path.c_str(), &status) == 0) {
    if (S_ISDIR(status.st_mode)) return "is a directory";
    if (::access(path.c_str(), W_OK) != 0) return errno_message(errno);
    return std::nullopt;
  }
  if (errno != ENOENT) return errno_message(errno);
  const std::string directory = parent_directory(path);
  if (::stat(directory.c_str(), &status) != 0) {
    return "directory " + in_quotes(directory) + ": " + errno_message(errno);
  }
  if (!S_ISDIR(status.st_mode)) return in_quotes(directory) + " is not a directory";
  if (::access(directory.c_str(), W_OK | X_OK) != 0) {
    return "cannot create a file in " + in_quotes(directory) + ": " + errno_message(errno);
  }
  return std::nullopt;
}

// The upstreams' TLS files (CA, client certificate and key) load into a client context as
// serve builds it (proxy/guards.hpp).
void check_tls(const Config& config, std::vector<ConfigError>& errors) {
  for (const UpstreamConfig& upstream : config.upstreams) {
    auto context = upstream::make_tls_client_context(upstream);
    if (context) continue;
    errors.push_back(error_at(config, "upstreams." + upstream.name + "." + context.error().key,
                              context.error().message));
  }
}

void check_files(const Config& config, std::vector<ConfigError>& errors) {
  check_tls(config, errors);
  if (!config.log.access_log.empty()) {
    if (auto problem = append_problem(config.log.access_log)) {
      errors.push_back(error_at(config, "log.access_log",
                                "cannot open access log " + in_quotes(config.log.access_log) +
                                    " for appending: " + *problem));
    }
  }
  if (config.telemetry.sink == TelemetrySink::jsonl) {
    if (auto problem = append_problem(config.telemetry.path)) {
      errors.push_back(error_at(
          config, "telemetry.path",
          "cannot open " + in_quotes(config.telemetry.path) + " for appending: " + *problem));
    }
  }
}

// The shared tier's client takes only IP addresses (a name would need a blocking resolver on
// a worker thread), and serve creates it only when a route caches.
void check_redis(const Config& config, std::vector<ConfigError>& errors) {
  const bool caches = std::any_of(config.routes.begin(), config.routes.end(),
                                  [](const RouteConfig& route) { return route.cache.enabled; });
  if (!caches || !config.cache.has_redis()) return;
  const auto check = [&](const Endpoint& endpoint, const std::string& key, std::string_view what) {
    boost::system::error_code ec;
    (void)asio::ip::make_address(endpoint.host, ec);
    if (ec) {
      errors.push_back(error_at(config, key,
                                std::string(what) + " must be an IP address, not a name: " +
                                    in_quotes(endpoint.to_string())));
    }
  };
  if (config.cache.redis) check(*config.cache.redis, "cache.redis", "the Redis host");
  for (std::size_t i = 0; i < config.cache.redis_sentinels.size(); ++i) {
    check(config.cache.redis_sentinels[i], "cache.redis_sentinels[" + std::to_string(i) + "]",
          "a sentinel's host");
  }
}

// Which learned policies serve would create (ProxyServer: collapse windows and batch routes).
void check_models(const Config& config, std::vector<ConfigError>& errors) {
  for (std::size_t i = 0; i < config.routes.size(); ++i) {
    const RouteConfig& route = config.routes[i];
    const CollapseConfig& collapse = route.collapse;
    const PolicyTuning* tuning = nullptr;
    std::string key = "routes[" + std::to_string(i) + "]";
    if (route.mode == RouteMode::collapse && collapse.enabled &&
        collapse.strategy == CollapseStrategy::window && collapse.policy == FlushPolicy::learned) {
      tuning = &collapse.tuning;
      key += ".collapse.model";
    } else if (route.mode == RouteMode::batch && route.batch.policy == FlushPolicy::learned) {
      tuning = &route.batch.tuning;
      key += ".batch.model";
    }
    if (tuning == nullptr) continue;
    policy::ModelLoadResult loaded = policy::load_model(tuning->model);
    std::optional<std::string> why;
    if (!loaded) {
      why = loaded.error();
    } else if (auto mismatch = policy::observation_mismatch(*loaded.value())) {
      why = "model " + tuning->model + ": " + *mismatch;
    }
    if (why) {
      errors.push_back(error_at(config, key,
                                "cannot load " + *why + "; serve would run route " +
                                    in_quotes(route.name) +
                                    " on the adaptive fallback until a model that fits loads"));
    }
  }
}

// Each TLS listener's files load, the key matches the certificate and the cipher list has a
// cipher: exactly what serve and a reload do with them (config/tls_credentials.hpp). A
// certificate that is expired or not valid yet is only a warning, so that one can be renewed.
void check_listener_tls(const Config& config, std::vector<ConfigError>& errors) {
  for (const auto& [tls, prefix] : {std::pair{&config.server.tls, std::string()},
                                    std::pair{&config.server.admin_tls, std::string("admin_")}}) {
    if (!tls->enabled()) continue;
    if (auto problem = check_tls_credentials(*tls, prefix)) {
      errors.push_back(error_at(config, "server." + problem->key, problem->message));
      continue;
    }
    if (auto warning = certificate_validity_problem(tls->cert_file)) {
      const ConfigError where = error_at(config, "server." + prefix + "tls_cert_file", *warning);
      spdlog::warn("{}", where.to_string());
    }
  }
}

}  // namespace

ConfigError error_at(const Config& config, const std::string& key, std::string message) {
  const auto origin = config.origins.find(key);
  if (origin == config.origins.end()) {
    return ConfigError{config.source, 0, 0, key, std::move(message)};
  }
  return ConfigError{origin->second.file, origin->second.line, origin->second.column, key,
                     std::move(message)};
}

std::vector<ConfigError> preflight(const Config& config, PreflightFor purpose) {
  std::vector<ConfigError> errors;
  check_addresses(config, errors);
  check_redis(config, errors);
  check_files(config, errors);
  check_listener_tls(config, errors);
  if (purpose == PreflightFor::check) check_models(config, errors);
  sort_by_position(errors);
  return errors;
}

}  // namespace levee::config
