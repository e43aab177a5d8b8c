#pragma once
// The config loader's reading machinery, shared by its section readers (loader.cpp,
// route_sections.cpp): the schema types, Diagnostics (every error, with file:line and the
// dotted key, or the environment variable that set it) and TableReader (typed reads that
// report each problem at the value). Internal to src/config; start-up code only.

#include <toml++/toml.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/config_error.hpp"
#include "config/units.hpp"

namespace levee::config::detail {

// ---------------------------------------------------------------------------------------------
// Schema: the keys each table accepts. Unknown-key detection and environment overrides both
// read it, so a key added here is accepted in the file and from the environment alike.

enum class Kind { string, address, duration, size, integer, number, boolean, list, table };

struct Field {
  std::string_view key;
  Kind kind;
};

using Schema = std::span<const Field>;

inline constexpr std::uint64_t kib = 1024;
inline constexpr std::uint64_t mib = 1024 * kib;
inline constexpr std::uint64_t gib = 1024 * mib;

// ---------------------------------------------------------------------------------------------
// Small text helpers and value checks (table_reader.cpp).

[[nodiscard]] std::string quoted(std::string_view text);
[[nodiscard]] std::string lower(std::string_view text);
[[nodiscard]] std::string upper(std::string_view text);
[[nodiscard]] bool equals_ignore_case(std::string_view a, std::string_view b);
[[nodiscard]] bool is_name(std::string_view text);
// RFC 9110 tchar without lower-case letters: methods are case-sensitive and conventionally
// upper-case, so "get" is almost certainly a typo.
[[nodiscard]] bool is_method(std::string_view text);
[[nodiscard]] bool is_digits(std::string_view text);
[[nodiscard]] std::string schema_keys(Schema schema);
[[nodiscard]] const Field* find_field(Schema schema, std::string_view key);
[[nodiscard]] std::string_view describe(const toml::node& node);
// ", found <what the node is>", for messages.
[[nodiscard]] std::string found(const toml::node& node);
[[nodiscard]] std::string index_path(std::string_view base, std::size_t index);
[[nodiscard]] std::string format_number(double value);

template <typename Range>
std::string join(const Range& items, std::string_view separator = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

struct EndpointParse {
  std::optional<Endpoint> endpoint;
  std::string problem;
};

[[nodiscard]] EndpointParse parse_endpoint_checked(std::string_view text);
[[nodiscard]] std::string duration_problem(std::string_view text);
[[nodiscard]] std::string size_problem(std::string_view text);
[[nodiscard]] std::optional<std::string> host_problem(std::string_view host);
[[nodiscard]] std::optional<std::string> path_prefix_problem(std::string_view prefix);

// ---------------------------------------------------------------------------------------------
// Diagnostics: collects every error; knows which keys came from environment variables so
// that errors about them name the variable instead of a file position.

class Diagnostics {
 public:
  explicit Diagnostics(std::string source) : source_(std::move(source)) {}

  void note_override(std::string key, std::string variable) {
    overrides_.insert_or_assign(std::move(key), std::move(variable));
  }

  void report(const toml::source_region& where, std::string key, std::string message) {
    if (const std::string* variable = overriding_variable(key)) {
      report_variable(*variable, std::move(key), std::move(message));
      return;
    }
    errors_.push_back(ConfigError{source_, where.begin.line, where.begin.column, std::move(key),
                                  std::move(message)});
  }

  void report_variable(const std::string& variable, std::string key, std::string message) {
    errors_.push_back(
        ConfigError{"environment variable " + variable, 0, 0, std::move(key), std::move(message)});
  }

  [[nodiscard]] bool empty() const noexcept { return errors_.empty(); }

  // Errors with a file position first, in file order; the rest in the order found.
  [[nodiscard]] std::vector<ConfigError> take_sorted() {
    std::vector<ConfigError> sorted = std::move(errors_);
    errors_.clear();
    sort_by_position(sorted);
    return sorted;
  }

  // The variable that set `key` or one of its parents ("routes[0].methods" covers
  // "routes[0].methods[1]"); null when the file (or the default) did.
  [[nodiscard]] const std::string* overriding_variable(std::string_view key) const {
    for (const auto& [overridden, variable] : overrides_) {
      if (key == overridden) return &variable;
      if (key.starts_with(overridden) && key.size() > overridden.size() &&
          (key[overridden.size()] == '.' || key[overridden.size()] == '[')) {
        return &variable;
      }
    }
    return nullptr;
  }

 private:
  std::string source_;
  std::map<std::string, std::string> overrides_;  // dotted key -> variable name
  std::vector<ConfigError> errors_;
};

// ---------------------------------------------------------------------------------------------
// TableReader: reads typed fields of one table, reporting each problem at the value's
// position under its dotted key. Absent keys read as nullopt, so defaults stay in place.

enum class Zero { allowed, rejected };

class TableReader {
 public:
  TableReader(const toml::table& table, std::string path, Schema schema, Diagnostics& diagnostics)
      : table_(table), path_(std::move(path)), schema_(schema), diagnostics_(diagnostics) {}

  [[nodiscard]] std::string key_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  [[nodiscard]] const toml::node* find(std::string_view key) const { return table_.get(key); }

  void report(std::string_view key, std::string message) {
    const toml::node* node = find(key);
    diagnostics_.report(node != nullptr ? node->source() : table_.source(), key_path(key),
                        std::move(message));
  }

  void report_at(const toml::node& node, std::string key, std::string message) {
    diagnostics_.report(node.source(), std::move(key), std::move(message));
  }

  std::optional<std::string> string(std::string_view key) {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    if (const auto* value = node->as_string()) return value->get();
    report(key, "expected a string" + found(*node));
    return std::nullopt;
  }

  std::optional<std::string> required_string(std::string_view key) {
    if (find(key) == nullptr) {
      report(key, "required key is missing");
      return std::nullopt;
    }
    return string(key);
  }

  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max,
                                      std::string_view note = {}) {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    const auto* value = node->as_integer();
    if (value == nullptr) {
      report(key, "expected an integer" + found(*node));
      return std::nullopt;
    }
    if (value->get() < min || value->get() > max) {
      report(key, "must be from " + std::to_string(min) + " to " + std::to_string(max) +
                      std::string(note) + ", got " + std::to_string(value->get()));
      return std::nullopt;
    }
    return value->get();
  }

  std::optional<bool> boolean(std::string_view key) {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    if (const auto* value = node->as_boolean()) return value->get();
    report(key, "expected true or false" + found(*node));
    return std::nullopt;
  }

  // A number (integer or float) from min to max, such as a share 0.5.
  std::optional<double> number(std::string_view key, double min, double max) {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    std::optional<double> value = node->value<double>();
    if (!value || !node->is_number()) {
      report(key, "expected a number" + found(*node));
      return std::nullopt;
    }
    if (!(*value >= min && *value <= max)) {
      report(key, "must be from " + format_number(min) + " to " + format_number(max) + ", got " +
                      format_number(*value));
      return std::nullopt;
    }
    return value;
  }

  std::optional<Duration> duration(std::string_view key, Zero zero) {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    const auto* text = node->as_string();
    if (text == nullptr) {
      if (node->is_number()) {
        report(key, "expected a duration string" + found(*node) +
                        ": use a string with a unit such as \"50ms\"");
      } else {
        report(key, "expected a duration string such as \"50ms\"" + found(*node));
      }
      return std::nullopt;
    }
    const auto value = parse_duration(text->get());
    if (!value) {
      report(key, "invalid duration " + quoted(text->get()) + ": " + duration_problem(text->get()));
      return std::nullopt;
    }
    if (zero == Zero::rejected && *value == Duration::zero()) {
      report(key, "must be greater than 0");
      return std::nullopt;
    }
    return value;
  }

  std::optional<std::uint64_t> size(std::string_view key, std::uint64_t min, std::uint64_t max) {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    std::optional<std::uint64_t> bytes;
    if (const auto* number = node->as_integer()) {
      if (number->get() < 0) {
        report(key, "sizes cannot be negative, got " + std::to_string(number->get()));
        return std::nullopt;
      }
      bytes = static_cast<std::uint64_t>(number->get());
    } else if (const auto* text = node->as_string()) {
      bytes = parse_size(text->get());
      if (!bytes) {
        report(key, "invalid size " + quoted(text->get()) + ": " + size_problem(text->get()));
        return std::nullopt;
      }
    } else {
      report(key, "expected a size such as \"64KiB\" or an integer number of bytes" + found(*node));
      return std::nullopt;
    }
    if (*bytes < min || *bytes > max) {
      report(key, "must be from " + format_size(min) + " to " + format_size(max) + ", got " +
                      format_size(*bytes));
      return std::nullopt;
    }
    return bytes;
  }

  std::optional<Endpoint> endpoint(std::string_view key) {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    const auto* text = node->as_string();
    if (text == nullptr) {
      report(key, "expected an address string such as \"127.0.0.1:8080\"" + found(*node));
      return std::nullopt;
    }
    auto parsed = parse_endpoint_checked(text->get());
    if (!parsed.endpoint) {
      report(key, "invalid address " + quoted(text->get()) + ": " + parsed.problem);
    }
    return std::move(parsed.endpoint);
  }

  void reject_unknown_keys() {
    for (const auto& [key, node] : table_) {
      if (find_field(schema_, key.str()) == nullptr) {
        diagnostics_.report(key.source(), key_path(key.str()),
                            "unknown key (expected one of: " + schema_keys(schema_) + ")");
      }
    }
  }

 private:
  const toml::table& table_;
  std::string path_;
  Schema schema_;
  Diagnostics& diagnostics_;
};

template <typename Target, typename Value>
void assign(Target& target, const std::optional<Value>& value) {
  if (value) target = static_cast<Target>(*value);
}

// A duration key up to `max` (a longer one is reported); `out` keeps its default otherwise.
inline void read_bounded(TableReader& reader, std::string_view key, Duration max, Zero zero,
                         Duration& out) {
  auto value = reader.duration(key, zero);
  if (!value) return;
  if (*value > max) {
    reader.report(key,
                  "must be at most " + format_duration(max) + ", got " + format_duration(*value));
    return;
  }
  out = *value;
}

}  // namespace levee::config::detail
