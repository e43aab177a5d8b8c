#pragma once
// Turns a TOML file plus LEVEE_* environment overrides into a validated Config. Runs once at
// start-up on the main thread; the result is immutable afterwards.
//
// Contract:
// - Every problem is collected before anything is thrown: a rejected configuration throws
//   one ConfigErrors holding all of them, sorted by position, each naming the file (or the
//   environment variable), line, column and dotted key. A TOML syntax error stops parsing,
//   so it is reported alone.
// - Unknown keys, wrong TOML types and impossible values are errors; absent keys take the
//   defaults in config.hpp. `server.workers` absent or 0 becomes the number of hardware
//   threads (at least 1).
// - Environment overrides: LEVEE_<SECTION>__<KEY>[...] replaces one value before validation.
//   Segments are separated by "__" and compared case-insensitively; sections are server,
//   log, upstreams (LEVEE_UPSTREAMS__<NAME>__<KEY>) and routes (LEVEE_ROUTES__<NAME or
//   INDEX>__<KEY>). The value is read as a TOML value when it parses as one (4, true,
//   ["GET"]), otherwise as a string; keys whose values are strings (addresses, durations,
//   names) always take the raw text unless it is a quoted TOML string. Variables whose first
//   segment is not one of those sections are ignored.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/config_error.hpp"

namespace levee::config {

// Reads `path` and the process environment. Throws ConfigErrors (including when the file
// cannot be read).
[[nodiscard]] Config load_file(const std::string& path);

// As load_file, from text; `source_name` is used as the file name in errors and as
// Config::source, `environment` stands in for the process environment.
[[nodiscard]] Config load_string(std::string_view toml_text, std::string source_name,
                                 const std::map<std::string, std::string>& environment);

// "host:port" or "[ipv6]:port", port 0..65535 (0 = ephemeral); nullopt otherwise.
[[nodiscard]] std::optional<Endpoint> parse_endpoint(std::string_view text);

}  // namespace levee::config
