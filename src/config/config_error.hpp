#pragma once
// What the loader reports when a configuration is rejected. One ConfigError per problem,
// each naming where it is (file or environment variable, line, column) and which dotted key
// (`routes[1].path_prefix`, `upstreams.legacy.connect_timeout`) it is about. The loader
// collects every problem it finds and throws them together as ConfigErrors; exceptions are
// used only at start-up, never on the data path.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace levee::config {

struct ConfigError {
  std::string file;        // the config file, or "environment variable LEVEE_..."
  std::size_t line = 0;    // 1-based; 0 = no position (environment, whole-file problems)
  std::size_t column = 0;  // 1-based; 0 = unknown
  std::string key;         // dotted key the problem is about; empty for syntax errors
  std::string message;

  // "file:line:column: key: message"; the position and the key are left out when unknown.
  [[nodiscard]] std::string to_string() const;
};

// Errors with a file position first, in file order; the rest keep the order they had.
void sort_by_position(std::vector<ConfigError>& errors);

class ConfigErrors : public std::runtime_error {
 public:
  explicit ConfigErrors(std::vector<ConfigError> errors);

  // Never empty when thrown by the loader; what() is every error's to_string(), one a line.
  std::vector<ConfigError> errors;
};

}  // namespace levee::config
