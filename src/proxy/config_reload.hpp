#pragma once
// Reading a configuration for a live reload (issue 17.4): the file is loaded and validated
// exactly as `levee check` does it (config::load_file, then config::preflight with
// PreflightFor::check), and compared with the running configuration for what a reload cannot
// change: [server] (the listeners, the worker count and the sessions' limits; not the TLS
// certificates, keys, ciphers and minimum version, which a reload applies), [log] and
// [telemetry] stay as they were started until a restart, and each such difference is a warning.
//
// Threading: the controlling thread; blocks it (file reads, name lookups).

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace levee::proxy {

struct ReloadReading {
  std::shared_ptr<const config::Config> config;  // null when the file is refused
  std::vector<std::string> errors;               // file:line:column: key: message, each
  std::vector<std::string> restart_needed;       // warnings: changes kept for a restart
};

[[nodiscard]] ReloadReading read_for_reload(const std::string& path, const config::Config& running);

}  // namespace levee::proxy
