#include "config/config_error.hpp"

#include <utility>

namespace levee::config {
namespace {

std::string join_lines(const std::vector<ConfigError>& errors) {
  std::string text;
  for (const ConfigError& error : errors) {
    if (!text.empty()) text += '\n';
    text += error.to_string();
  }
  return text;
}

}  // namespace

std::string ConfigError::to_string() const {
  std::string text = file;
  if (line != 0) {
    text += ':' + std::to_string(line);
    if (column != 0) text += ':' + std::to_string(column);
  }
  text += ": ";
  if (!key.empty()) text += key + ": ";
  text += message;
  return text;
}

ConfigErrors::ConfigErrors(std::vector<ConfigError> errors_found)
    : std::runtime_error(join_lines(errors_found)), errors(std::move(errors_found)) {}

}  // namespace levee::config
