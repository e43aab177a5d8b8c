#include "config/config_error.hpp"

#include <algorithm>
#include <cstddef>
#include <tuple>
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

void sort_by_position(std::vector<ConfigError>& errors) {
  // Not std::stable_sort: with clang 19 and libstdc++ 12 it trips -Wdeprecated-declarations
  // (get_temporary_buffer). The original index breaks ties instead.
  std::vector<std::size_t> order(errors.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const ConfigError& x = errors[a];
    const ConfigError& y = errors[b];
    return std::tuple(x.line == 0, x.line, x.column, a) <
           std::tuple(y.line == 0, y.line, y.column, b);
  });
  std::vector<ConfigError> sorted;
  sorted.reserve(order.size());
  for (const std::size_t i : order) sorted.push_back(std::move(errors[i]));
  errors = std::move(sorted);
}

ConfigErrors::ConfigErrors(std::vector<ConfigError> errors_found)
    : std::runtime_error(join_lines(errors_found)), errors(std::move(errors_found)) {}

}  // namespace levee::config
