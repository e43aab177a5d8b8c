#include "proxy/config_reload.hpp"

#include <fmt/format.h>

#include "config/config_error.hpp"
#include "config/loader.hpp"
#include "config/preflight.hpp"

namespace levee::proxy {

namespace {

void compare_restart_only(const config::Config& next, const config::Config& running,
                          std::vector<std::string>& out) {
  const config::ServerConfig& now = running.server;
  const config::ServerConfig& then = next.server;
  if (then.listen != now.listen) {
    out.push_back(
        fmt::format("server.listen changed to {}: a restart is needed; still listening on {}",
                    then.listen.to_string(), now.listen.to_string()));
  }
  if (then.admin_listen != now.admin_listen) {
    out.push_back(
        fmt::format("server.admin_listen changed to {}: a restart is needed; admin still on {}",
                    then.admin_listen.to_string(), now.admin_listen.to_string()));
  }
  if (then.workers != now.workers) {
    out.push_back(fmt::format("server.workers changed to {}: a restart is needed; still {}",
                              then.workers, now.workers));
  }
  config::ServerConfig rest = then;
  rest.listen = now.listen;
  rest.admin_listen = now.admin_listen;
  rest.workers = now.workers;
  // Read again by every reload (proxy/tls_setup.hpp).
  rest.tls = now.tls;
  rest.admin_tls = now.admin_tls;
  if (rest != now) {
    out.emplace_back("[server] limits or timeouts changed: they take effect at a restart");
  }
  if (next.log != running.log) {
    out.emplace_back("[log] changed: it takes effect at a restart");
  }
  if (next.telemetry != running.telemetry) {
    out.emplace_back("[telemetry] changed: it takes effect at a restart");
  }
}

}  // namespace

ReloadReading read_for_reload(const std::string& path, const config::Config& running) {
  ReloadReading reading;
  config::Config next;
  try {
    next = config::load_file(path);
  } catch (const config::ConfigErrors& e) {
    for (const auto& error : e.errors) reading.errors.push_back(error.to_string());
    return reading;
  }
  for (const auto& error : config::preflight(next, config::PreflightFor::check)) {
    reading.errors.push_back(error.to_string());
  }
  if (!reading.errors.empty()) return reading;
  compare_restart_only(next, running, reading.restart_needed);
  reading.config = std::make_shared<const config::Config>(std::move(next));
  return reading;
}

}  // namespace levee::proxy
