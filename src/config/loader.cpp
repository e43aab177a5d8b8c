#include "config/loader.hpp"

#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <span>
#include <sstream>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "config/units.hpp"

namespace levee::config {
namespace {

// ---------------------------------------------------------------------------------------------
// Schema: the keys each table accepts. Unknown-key detection and environment overrides both
// read it, so a key added here is accepted in the file and from the environment alike.

enum class Kind { string, address, duration, size, integer, boolean, list, table };

struct Field {
  std::string_view key;
  Kind kind;
};

using Schema = std::span<const Field>;

constexpr std::array server_schema{
    Field{"listen", Kind::address},          Field{"admin_listen", Kind::address},
    Field{"workers", Kind::integer},         Field{"drain_timeout", Kind::duration},
    Field{"max_connections", Kind::integer}, Field{"max_header_bytes", Kind::size},
    Field{"max_body_bytes", Kind::size},     Field{"header_timeout", Kind::duration},
    Field{"body_timeout", Kind::duration},   Field{"idle_timeout", Kind::duration},
};

constexpr std::array log_schema{
    Field{"level", Kind::string},
    Field{"access_log", Kind::string},
};

constexpr std::array upstream_schema{
    Field{"address", Kind::address},          Field{"connect_timeout", Kind::duration},
    Field{"request_timeout", Kind::duration}, Field{"max_idle_connections", Kind::integer},
    Field{"idle_timeout", Kind::duration},    Field{"max_response_bytes", Kind::size},
};

constexpr std::array route_schema{
    Field{"name", Kind::string},         Field{"host", Kind::string},
    Field{"path_prefix", Kind::string},  Field{"methods", Kind::list},
    Field{"upstream", Kind::string},     Field{"mode", Kind::string},
    Field{"collapse", Kind::table},      Field{"batch", Kind::table},
    Field{"max_pending", Kind::integer}, Field{"admission_timeout", Kind::duration},
};

constexpr std::array batch_schema{
    Field{"upstream_path", Kind::string},
    Field{"max_batch_size", Kind::integer},
    Field{"max_batch_bytes", Kind::size},
    Field{"max_item_bytes", Kind::size},
    Field{"max_wait", Kind::duration},
    Field{"policy", Kind::string},
    Field{"max_inflight_batches", Kind::integer},
    Field{"max_queued_batches", Kind::integer},
    Field{"payload", Kind::string},
    Field{"wrap_path", Kind::string},
    Field{"response", Kind::string},
    Field{"results_path", Kind::string},
    Field{"demux", Kind::string},
    Field{"id_field", Kind::string},
    Field{"item_error_field", Kind::string},
    Field{"item_error_status", Kind::integer},
    Field{"debug_header", Kind::boolean},
};

constexpr std::array collapse_schema{
    Field{"strategy", Kind::string},   Field{"max_waiters", Kind::integer},
    Field{"max_slots", Kind::integer}, Field{"vary", Kind::list},
    Field{"methods", Kind::list},      Field{"debug_header", Kind::boolean},
    Field{"policy", Kind::string},     Field{"max_wait", Kind::duration},
    Field{"preset", Kind::string},     Field{"leader_age", Kind::duration},
};

constexpr std::array<std::string_view, 4> section_names{"server", "log", "upstreams", "routes"};
constexpr std::array<std::string_view, 7> log_levels{"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};
constexpr std::array<std::string_view, 6> duration_suffixes{"ns", "us", "ms", "s", "m", "h"};

constexpr std::int64_t max_workers = 256;
constexpr std::uint64_t kib = 1024;
constexpr std::uint64_t mib = 1024 * kib;
constexpr std::uint64_t gib = 1024 * mib;

constexpr std::string_view environment_prefix = "LEVEE_";

// ---------------------------------------------------------------------------------------------
// Small text helpers.

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool equals_ignore_case(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

bool is_name(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
  });
}

// RFC 9110 tchar without lower-case letters: methods are case-sensitive and conventionally
// upper-case, so "get" is almost certainly a typo.
bool is_method(std::string_view text) {
  constexpr std::string_view symbols = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           symbols.find(c) != std::string_view::npos;
  });
}

bool is_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

template <typename Range>
std::string join(const Range& items, std::string_view separator = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string schema_keys(Schema schema) {
  std::vector<std::string_view> keys;
  for (const Field& field : schema) keys.push_back(field.key);
  return join(keys);
}

const Field* find_field(Schema schema, std::string_view key) {
  const auto it = std::find_if(schema.begin(), schema.end(),
                               [&](const Field& field) { return field.key == key; });
  return it == schema.end() ? nullptr : &*it;
}

std::string_view describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string found(const toml::node& node) { return ", found " + std::string(describe(node)); }

std::string index_path(std::string_view base, std::size_t index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

// ---------------------------------------------------------------------------------------------
// Value checks that need a reason, not just yes/no.

struct EndpointParse {
  std::optional<Endpoint> endpoint;
  std::string problem;
};

EndpointParse parse_endpoint_checked(std::string_view text) {
  const auto fail = [](std::string problem) { return EndpointParse{std::nullopt, problem}; };
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return fail("missing ']' after the IPv6 address");
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.starts_with(':')) return fail("missing \":port\" after ']'");
    port = rest.substr(1);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("missing \":port\"");
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
      return fail("IPv6 addresses must be in brackets, e.g. \"[::1]:8080\"");
    }
    port = text.substr(colon + 1);
  }
  if (host.empty()) return fail("missing host");
  const bool bad_host = std::any_of(host.begin(), host.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0 ||
           std::iscntrl(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("/[]@?#").find(c) != std::string_view::npos;
  });
  if (bad_host) return fail("the host contains characters not allowed in a host name");
  std::uint32_t number = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || error != std::errc{} || end != port.data() + port.size() || number > 65535) {
    return fail("the port must be a number from 0 to 65535");
  }
  return {Endpoint{std::string(host), static_cast<std::uint16_t>(number)}, {}};
}

std::string duration_problem(std::string_view text) {
  if (text.empty()) return "empty; write a number and a unit, e.g. \"50ms\"";
  if (text.starts_with('-')) return "durations cannot be negative";
  const auto unit_at = text.find_first_not_of("0123456789.");
  if (unit_at == std::string_view::npos) {
    return "missing unit: write e.g. \"" + std::string(text) + "s\" or \"" + std::string(text) +
           "ms\"";
  }
  const bool known_unit = std::find(duration_suffixes.begin(), duration_suffixes.end(),
                                    text.substr(unit_at)) != duration_suffixes.end();
  if (known_unit && is_digits(text.substr(0, unit_at))) return "too large";
  return "expected a number followed by one of ns, us, ms, s, m, h (e.g. \"50ms\", \"1.5s\"; "
         "at most 9 decimals)";
}

std::string size_problem(std::string_view text) {
  if (text.starts_with('-')) return "sizes cannot be negative";
  const auto unit_at = text.find_first_not_of("0123456789");
  // Digits followed by something parse_size knows except for the magnitude: an overflow.
  if (unit_at != 0 && parse_size("1" + std::string(text.substr(unit_at)))) return "too large";
  return "expected a whole number of bytes, optionally followed by one of B, KB, MB, GB, TB, "
         "KiB, MiB, GiB, TiB (e.g. \"64KiB\")";
}

std::optional<std::string> host_problem(std::string_view host) {
  if (host.empty()) return std::nullopt;
  if (host.starts_with('[')) {
    if (host.size() > 2 && host.ends_with(']')) return std::nullopt;
    return "an IPv6 host is written \"[::1]\"";
  }
  if (host.find(':') != std::string_view::npos) {
    return "must not include a port (routes match the Host header without its port)";
  }
  const bool valid = std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
  });
  if (!valid) return "may contain only letters, digits, '.', '-' and '_'";
  return std::nullopt;
}

std::optional<std::string> path_prefix_problem(std::string_view prefix) {
  if (!prefix.starts_with('/')) return "must start with '/'";
  const bool valid = std::none_of(prefix.begin(), prefix.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0 ||
           std::iscntrl(static_cast<unsigned char>(c)) != 0 || c == '?' || c == '#';
  });
  if (!valid) return "must not contain whitespace, control characters, '?' or '#'";
  return std::nullopt;
}

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
    // Not std::stable_sort: with clang 19 and libstdc++ 12 it trips -Wdeprecated-declarations
    // (get_temporary_buffer). The discovery index breaks ties instead.
    std::vector<std::size_t> order(errors_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      const ConfigError& x = errors_[a];
      const ConfigError& y = errors_[b];
      return std::tuple(x.line == 0, x.line, x.column, a) <
             std::tuple(y.line == 0, y.line, y.column, b);
    });
    std::vector<ConfigError> sorted;
    sorted.reserve(order.size());
    for (const std::size_t i : order) sorted.push_back(std::move(errors_[i]));
    errors_.clear();
    return sorted;
  }

 private:
  // The variable that set `key` or one of its parents ("routes[0].methods" covers
  // "routes[0].methods[1]").
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

// ---------------------------------------------------------------------------------------------
// Sections.

void read_server(const toml::table& table, ServerConfig& server, Diagnostics& diagnostics) {
  TableReader reader(table, "server", server_schema, diagnostics);
  const auto listen = reader.endpoint("listen");
  const auto admin_listen = reader.endpoint("admin_listen");
  assign(server.listen, listen);
  assign(server.admin_listen, admin_listen);
  assign(server.workers,
         reader.integer("workers", 0, max_workers, " (0 = one per hardware thread)"));
  assign(server.drain_timeout, reader.duration("drain_timeout", Zero::allowed));
  assign(server.max_connections, reader.integer("max_connections", 1, 10'000'000));
  assign(server.max_header_bytes, reader.size("max_header_bytes", kib, mib));
  assign(server.max_body_bytes, reader.size("max_body_bytes", 0, 4 * gib));
  assign(server.header_timeout, reader.duration("header_timeout", Zero::rejected));
  assign(server.body_timeout, reader.duration("body_timeout", Zero::rejected));
  assign(server.idle_timeout, reader.duration("idle_timeout", Zero::rejected));

  // Compare only values that were read successfully or defaulted, to avoid a second error
  // about an address that is already reported as invalid.
  const bool listen_ok = listen || reader.find("listen") == nullptr;
  const bool admin_ok = admin_listen || reader.find("admin_listen") == nullptr;
  const Endpoint& a = server.listen;
  const Endpoint& b = server.admin_listen;
  if (listen_ok && admin_ok && a.host == b.host && a.port == b.port && a.port != 0) {
    // Point at whichever of the two the file actually wrote.
    const auto key = reader.find("admin_listen") != nullptr ? "admin_listen" : "listen";
    reader.report(key, "server.listen and server.admin_listen are both " + a.to_string() +
                           "; they must differ (unless both use port 0)");
  }
  reader.reject_unknown_keys();
}

void read_log(const toml::table& table, LogConfig& log, Diagnostics& diagnostics) {
  TableReader reader(table, "log", log_schema, diagnostics);
  if (auto level = reader.string("level")) {
    if (std::find(log_levels.begin(), log_levels.end(), *level) == log_levels.end()) {
      reader.report("level", "unknown level " + quoted(*level) +
                                 " (expected one of: " + join(log_levels) + ")");
    } else {
      log.level = std::move(*level);
    }
  }
  assign(log.access_log, reader.string("access_log"));
  reader.reject_unknown_keys();
}

void read_upstreams(const toml::node* node, Config& config, Diagnostics& diagnostics) {
  if (node == nullptr) return;
  const toml::table* upstreams = node->as_table();
  if (upstreams == nullptr) {
    diagnostics.report(node->source(), "upstreams",
                       "expected a table of upstreams ([upstreams.NAME])" + found(*node));
    return;
  }
  for (const auto& [name, value] : *upstreams) {
    const std::string path = "upstreams." + std::string(name.str());
    if (!is_name(name.str())) {
      diagnostics.report(name.source(), path,
                         "upstream names may contain only letters, digits, '_' and '-'");
    }
    const toml::table* table = value.as_table();
    if (table == nullptr) {
      diagnostics.report(value.source(), path, "expected a table ([" + path + "])" + found(value));
      continue;
    }
    UpstreamConfig upstream;
    upstream.name = name.str();
    TableReader reader(*table, path, upstream_schema, diagnostics);
    if (reader.find("address") == nullptr) {
      reader.report("address", "required key is missing");
    } else {
      assign(upstream.address, reader.endpoint("address"));
    }
    assign(upstream.connect_timeout, reader.duration("connect_timeout", Zero::rejected));
    assign(upstream.request_timeout, reader.duration("request_timeout", Zero::rejected));
    assign(upstream.max_idle_connections, reader.integer("max_idle_connections", 0, 100'000));
    assign(upstream.idle_timeout, reader.duration("idle_timeout", Zero::rejected));
    assign(upstream.max_response_bytes, reader.size("max_response_bytes", kib, 4 * gib));
    reader.reject_unknown_keys();
    config.upstreams.push_back(std::move(upstream));
  }
  if (upstreams->empty()) {
    diagnostics.report(node->source(), "upstreams", "at least one upstream is required");
  }
}

std::vector<std::string> read_methods(TableReader& reader) {
  const toml::node* node = reader.find("methods");
  if (node == nullptr) return {};
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    reader.report("methods",
                  "expected an array of strings such as [\"GET\", \"HEAD\"]" + found(*node));
    return {};
  }
  std::vector<std::string> methods;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string key = index_path(reader.key_path("methods"), i);
    const auto* method = element.as_string();
    if (method == nullptr) {
      reader.report_at(element, key, "expected a string" + found(element));
    } else if (!is_method(method->get())) {
      reader.report_at(element, key,
                       "invalid method " + quoted(method->get()) +
                           ": methods are upper-case HTTP tokens such as \"GET\"");
    } else if (std::find(methods.begin(), methods.end(), method->get()) != methods.end()) {
      reader.report_at(element, key, "duplicate method " + quoted(method->get()));
    } else {
      methods.push_back(method->get());
    }
  }
  return methods;
}

void read_mode(TableReader& reader, RouteMode& mode) {
  const auto text = reader.string("mode");
  if (!text) return;
  if (*text == "pass") {
    mode = RouteMode::pass;
  } else if (*text == "collapse") {
    mode = RouteMode::collapse;
  } else if (*text == "batch") {
    mode = RouteMode::batch;
  } else {
    reader.report("mode", "unknown mode " + quoted(*text) +
                              " (expected \"pass\", \"collapse\" or \"batch\")");
  }
}

void read_flag(TableReader& reader, std::string_view key, bool& flag) {
  const toml::node* node = reader.find(key);
  if (node == nullptr) return;
  if (const auto* value = node->as_boolean()) {
    flag = value->get();
  } else {
    reader.report(key, "expected true or false" + found(*node));
  }
}

void read_policy(TableReader& reader, FlushPolicy& policy) {
  const auto text = reader.string("policy");
  if (!text) return;
  if (*text == "immediate") {
    policy = FlushPolicy::immediate;
  } else if (*text == "timer") {
    policy = FlushPolicy::timer;
  } else if (*text == "size") {
    policy = FlushPolicy::size;
  } else if (*text == "adaptive" || *text == "learned") {
    reader.report("policy", "policy " + quoted(*text) +
                                " is not implemented in this build (immediate, timer, size)");
  } else {
    reader.report("policy", "unknown policy " + quoted(*text) +
                                " (expected immediate, timer, size, adaptive or learned)");
  }
}

void read_max_wait(TableReader& reader, Duration& max_wait) {
  if (auto wait = reader.duration("max_wait", Zero::rejected)) {
    if (*wait > std::chrono::seconds(60)) {
      reader.report("max_wait", "must be at most 60s, got " + format_duration(*wait));
    } else {
      max_wait = *wait;
    }
  }
}

// One of `names` (the enum's values in order), or an error naming them all.
template <class Enum, std::size_t N>
void read_choice(TableReader& reader, std::string_view key,
                 const std::array<std::string_view, N>& names, Enum& target) {
  const auto text = reader.string(key);
  if (!text) return;
  for (std::size_t i = 0; i < N; ++i) {
    if (*text == names[i]) {
      target = static_cast<Enum>(i);
      return;
    }
  }
  reader.report(key, "unknown value " + quoted(*text) + " (expected " + join(names, ", ") + ")");
}

// "data.requests" -> {"data", "requests"}; every segment a non-empty JSON member name.
std::optional<std::vector<std::string>> read_json_path(TableReader& reader, std::string_view key) {
  const auto text = reader.string(key);
  if (!text) return std::nullopt;
  std::vector<std::string> segments;
  std::string_view rest = *text;
  for (;;) {
    const auto dot = rest.find('.');
    const std::string_view segment = rest.substr(0, dot);
    if (segment.empty() || segment.find_first_of("\"\\") != std::string_view::npos) {
      reader.report(key, "invalid path " + quoted(*text) +
                             ": use member names separated by '.', such as \"data.requests\"");
      return std::nullopt;
    }
    segments.emplace_back(segment);
    if (dot == std::string_view::npos) return segments;
    rest.remove_prefix(dot + 1);
  }
}

// [routes.batch]: required with mode = "batch" (it names the upstream's batch endpoint).
void read_batch(TableReader& route_reader, const std::string& route_path, RouteConfig& route,
                Diagnostics& diagnostics) {
  const toml::node* node = route_reader.find("batch");
  if (node == nullptr) {
    if (route.mode == RouteMode::batch) {
      route_reader.report("mode",
                          "mode = \"batch\" needs a [routes.batch] table with upstream_path");
    }
    return;
  }
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    route_reader.report("batch", "expected a table ([routes.batch])" + found(*node));
    return;
  }
  if (route.mode != RouteMode::batch) {
    route_reader.report("batch", "[routes.batch] applies only to mode = \"batch\"");
    return;
  }
  TableReader reader(*table, route_path + ".batch", batch_schema, diagnostics);
  BatchConfig& batch = route.batch;
  if (auto path = reader.required_string("upstream_path")) {
    if (auto problem = path_prefix_problem(*path)) {
      reader.report("upstream_path", "invalid path " + quoted(*path) + ": " + *problem);
    } else {
      batch.upstream_path = std::move(*path);
    }
  }
  assign(batch.max_batch_size, reader.integer("max_batch_size", 1, 100'000));
  assign(batch.max_batch_bytes, reader.size("max_batch_bytes", 1, gib));
  assign(batch.max_item_bytes, reader.size("max_item_bytes", 1, gib));
  if (batch.max_item_bytes > batch.max_batch_bytes) {
    reader.report(reader.find("max_item_bytes") != nullptr ? "max_item_bytes" : "max_batch_bytes",
                  "max_item_bytes (" + format_size(batch.max_item_bytes) +
                      ") must not be larger than max_batch_bytes (" +
                      format_size(batch.max_batch_bytes) + ")");
  }
  read_max_wait(reader, batch.max_wait);
  read_policy(reader, batch.policy);
  assign(batch.max_inflight_batches, reader.integer("max_inflight_batches", 1, 100'000));
  assign(batch.max_queued_batches, reader.integer("max_queued_batches", 0, 1'000'000));
  read_choice(reader, "payload", std::array<std::string_view, 3>{"json_array", "ndjson", "wrapped"},
              batch.payload);
  if (auto path = read_json_path(reader, "wrap_path")) {
    if (batch.payload != BatchPayload::wrapped) {
      reader.report("wrap_path", "wrap_path applies only to payload = \"wrapped\"");
    }
    batch.wrap_path = std::move(*path);
  }
  read_choice(reader, "response", std::array<std::string_view, 2>{"json", "ndjson"},
              batch.response);
  if (auto path = read_json_path(reader, "results_path")) {
    if (batch.response != BatchResponse::json) {
      reader.report("results_path", "results_path applies only to response = \"json\"");
    }
    batch.results_path = std::move(*path);
  }
  read_choice(reader, "demux", std::array<std::string_view, 2>{"position", "id"}, batch.demux);
  if (auto field = reader.string("id_field")) {
    if (field->empty()) reader.report("id_field", "must not be empty");
    batch.id_field = std::move(*field);
  }
  if (auto field = reader.string("item_error_field")) batch.item_error_field = std::move(*field);
  assign(batch.item_error_status, reader.integer("item_error_status", 400, 599));
  read_flag(reader, "debug_header", batch.debug_header);
  reader.reject_unknown_keys();
}

// Route-level admission: batch routes only until every mode has it (issue 6).
void read_admission(TableReader& reader, RouteConfig& route) {
  for (const char* key : {"max_pending", "admission_timeout"}) {
    if (reader.find(key) != nullptr && route.mode != RouteMode::batch) {
      reader.report(key, std::string(key) + " applies only to mode = \"batch\" in this build");
    }
  }
  assign(route.max_pending, reader.integer("max_pending", 1, 100'000'000));
  if (auto timeout = reader.duration("admission_timeout", Zero::allowed)) {
    if (*timeout > std::chrono::seconds(60)) {
      reader.report("admission_timeout", "must be at most 60s, got " + format_duration(*timeout));
    } else {
      route.admission_timeout = *timeout;
    }
  }
}

// [routes.collapse]: only with mode = "collapse"; absent keys keep their defaults.
void read_collapse(TableReader& route_reader, const std::string& route_path, RouteConfig& route,
                   Diagnostics& diagnostics) {
  const toml::node* node = route_reader.find("collapse");
  if (node == nullptr) return;
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    route_reader.report("collapse", "expected a table ([routes.collapse])" + found(*node));
    return;
  }
  if (route.mode != RouteMode::collapse) {
    route_reader.report("collapse", "[routes.collapse] applies only to mode = \"collapse\"");
    return;
  }
  TableReader reader(*table, route_path + ".collapse", collapse_schema, diagnostics);
  CollapseConfig& collapse = route.collapse;
  // A preset sets its values first; keys given next to it override them.
  if (auto preset = reader.string("preset")) {
    if (*preset == "default") {
      // the built-in defaults
    } else if (*preset == "high_throughput") {
      collapse.max_wait = std::chrono::milliseconds(100);
      collapse.max_waiters = 500;
      collapse.max_slots = 50000;
    } else if (*preset == "low_latency") {
      collapse.max_wait = std::chrono::milliseconds(10);
      collapse.max_waiters = 50;
      collapse.max_slots = 5000;
    } else if (*preset == "disabled") {
      collapse.enabled = false;
    } else {
      reader.report("preset", "unknown preset " + quoted(*preset) +
                                  " (expected default, high_throughput, low_latency or disabled)");
    }
  }
  if (auto strategy = reader.string("strategy")) {
    if (*strategy == "window") {
      collapse.strategy = CollapseStrategy::window;
    } else if (*strategy == "inflight") {
      collapse.strategy = CollapseStrategy::inflight;
    } else {
      reader.report("strategy", "unknown strategy " + quoted(*strategy) +
                                    " (expected \"inflight\" or \"window\")");
    }
  }
  read_policy(reader, collapse.policy);
  read_max_wait(reader, collapse.max_wait);
  if (auto age = reader.duration("leader_age", Zero::allowed)) {
    if (collapse.strategy != CollapseStrategy::inflight) {
      reader.report("leader_age", "leader_age applies only to strategy = \"inflight\"");
    } else {
      collapse.leader_age = *age;
    }
  }
  if (collapse.strategy != CollapseStrategy::window) {
    // (a preset's max_wait is simply unused by inflight slots)
    for (const char* key : {"policy", "max_wait"}) {
      if (reader.find(key) != nullptr) {
        reader.report(key, std::string(key) + " applies only to strategy = \"window\"");
      }
    }
  }
  assign(collapse.max_waiters, reader.integer("max_waiters", 1, 1'000'000));
  assign(collapse.max_slots, reader.integer("max_slots", 1, 10'000'000));
  read_flag(reader, "debug_header", collapse.debug_header);
  if (reader.find("methods") != nullptr) {
    auto methods = read_methods(reader);
    if (methods.empty()) {
      reader.report("methods", "list at least one method");
    } else {
      collapse.methods = std::move(methods);
    }
  }
  if (const toml::node* vary = reader.find("vary")) {
    const toml::array* array = vary->as_array();
    if (array == nullptr) {
      reader.report("vary",
                    "expected an array of header names such as [\"Authorization\"]" + found(*vary));
    } else {
      collapse.vary.clear();
      for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& element = *array->get(i);
        const auto* name = element.as_string();
        if (name == nullptr || name->get().empty() ||
            name->get().find_first_of(" \t:\r\n") != std::string::npos) {
          reader.report_at(element, index_path(reader.key_path("vary"), i),
                           "expected a header name" + found(element));
          continue;
        }
        collapse.vary.push_back(lower(name->get()));
      }
    }
  }
  reader.reject_unknown_keys();
}

// `check_upstreams` is false when [upstreams] itself is malformed: its names are unknown and
// every route's reference would otherwise be reported again.
void read_routes(const toml::node* node, bool check_upstreams, Config& config,
                 Diagnostics& diagnostics) {
  if (node == nullptr) return;
  const toml::array* routes = node->as_array();
  if (routes == nullptr) {
    diagnostics.report(node->source(), "routes",
                       "expected an array of tables ([[routes]])" + found(*node));
    return;
  }
  std::vector<std::string> defined_upstreams;
  for (const UpstreamConfig& upstream : config.upstreams)
    defined_upstreams.push_back(upstream.name);
  std::map<std::string, std::size_t> index_by_name;

  for (std::size_t i = 0; i < routes->size(); ++i) {
    const toml::node& element = *routes->get(i);
    const std::string path = index_path("routes", i);
    const toml::table* table = element.as_table();
    if (table == nullptr) {
      diagnostics.report(element.source(), path, "expected a table ([[routes]])" + found(element));
      continue;
    }
    TableReader reader(*table, path, route_schema, diagnostics);
    RouteConfig route;
    if (auto name = reader.required_string("name")) {
      if (!is_name(*name)) {
        reader.report("name", "invalid route name " + quoted(*name) +
                                  ": use only letters, digits, '_' and '-'");
      } else if (const auto [first, inserted] = index_by_name.emplace(*name, i); !inserted) {
        reader.report("name", "duplicate route name " + quoted(*name) + " (already used by " +
                                  index_path("routes", first->second) + ")");
      }
      route.name = std::move(*name);
    }
    if (auto host = reader.string("host")) {
      if (auto problem = host_problem(*host)) {
        reader.report("host", "invalid host " + quoted(*host) + ": " + *problem);
      } else {
        route.host = lower(*host);
      }
    }
    if (auto prefix = reader.string("path_prefix")) {
      if (auto problem = path_prefix_problem(*prefix)) {
        reader.report("path_prefix", "invalid path prefix " + quoted(*prefix) + ": " + *problem);
      } else {
        route.path_prefix = std::move(*prefix);
      }
    }
    route.methods = read_methods(reader);
    if (auto upstream = reader.required_string("upstream")) {
      if (check_upstreams && std::find(defined_upstreams.begin(), defined_upstreams.end(),
                                       *upstream) == defined_upstreams.end()) {
        reader.report(
            "upstream",
            "no upstream named " + quoted(*upstream) + " (defined: " +
                (defined_upstreams.empty() ? std::string("none") : join(defined_upstreams)) + ")");
      }
      route.upstream = std::move(*upstream);
    }
    read_mode(reader, route.mode);
    read_collapse(reader, path, route, diagnostics);
    read_batch(reader, path, route, diagnostics);
    read_admission(reader, route);
    reader.reject_unknown_keys();
    config.routes.push_back(std::move(route));
  }
  if (routes->empty()) {
    diagnostics.report(node->source(), "routes", "at least one route is required");
  }
}

// A section that must be a table when present; an empty table stands in when absent so that
// defaults still go through the same checks.
const toml::table* section_table(const toml::table& root, std::string_view name,
                                 Diagnostics& diagnostics) {
  static const toml::table absent;
  const toml::node* node = root.get(name);
  if (node == nullptr) return &absent;
  if (const toml::table* table = node->as_table()) return table;
  diagnostics.report(node->source(), std::string(name),
                     "expected a table ([" + std::string(name) + "])" + found(*node));
  return nullptr;
}

void read_root(const toml::table& root, Config& config, Diagnostics& diagnostics) {
  for (const auto& [key, node] : root) {
    if (std::find(section_names.begin(), section_names.end(), key.str()) == section_names.end()) {
      diagnostics.report(key.source(), std::string(key.str()),
                         "unknown key (expected one of: " + join(section_names) + ")");
    }
  }
  if (const toml::table* server = section_table(root, "server", diagnostics)) {
    read_server(*server, config.server, diagnostics);
  }
  if (const toml::table* log = section_table(root, "log", diagnostics)) {
    read_log(*log, config.log, diagnostics);
  }
  read_upstreams(root.get("upstreams"), config, diagnostics);
  const toml::node* upstreams = root.get("upstreams");
  read_routes(root.get("routes"), upstreams == nullptr || upstreams->is_table(), config,
              diagnostics);

  const toml::source_region nowhere{};
  if (upstreams == nullptr) {
    diagnostics.report(nowhere, "upstreams",
                       "at least one upstream is required, e.g. [upstreams.backend] with "
                       "address = \"127.0.0.1:9000\"");
  }
  if (root.get("routes") == nullptr) {
    diagnostics.report(nowhere, "routes",
                       "at least one route is required, e.g. [[routes]] with name and upstream");
  }
}

// ---------------------------------------------------------------------------------------------
// Environment overrides.

struct OverrideTarget {
  toml::table* table = nullptr;
  std::string path;  // dotted path of `table`
  Schema schema;
};

std::vector<std::string> split_segments(std::string_view text) {
  std::vector<std::string> segments;
  for (;;) {
    const auto separator = text.find("__");
    segments.push_back(lower(text.substr(0, separator)));
    if (separator == std::string_view::npos) return segments;
    text.remove_prefix(separator + 2);
  }
}

toml::table* child_table(toml::table& parent, std::string_view key) {
  if (parent.get(key) == nullptr) parent.insert(std::string(key), toml::table{});
  return parent.get(key)->as_table();
}

std::optional<OverrideTarget> resolve_upstream(toml::table& root, const std::string& variable,
                                               std::string_view selector,
                                               Diagnostics& diagnostics) {
  toml::node* node = root.get("upstreams");
  toml::table* upstreams = node != nullptr ? node->as_table() : nullptr;
  if (upstreams != nullptr) {
    // An exact match wins; otherwise names compare case-insensitively, since environment
    // variables are conventionally upper-case.
    toml::node* exact = upstreams->get(selector);
    if (exact != nullptr && exact->is_table()) {
      return OverrideTarget{exact->as_table(), "upstreams." + std::string(selector),
                            upstream_schema};
    }
    for (auto&& [name, value] : *upstreams) {
      if (equals_ignore_case(name.str(), selector) && value.is_table()) {
        return OverrideTarget{value.as_table(), "upstreams." + std::string(name.str()),
                              upstream_schema};
      }
    }
  }
  diagnostics.report_variable(variable, "upstreams." + std::string(selector),
                              "no upstream named " + quoted(selector) + " is defined");
  return std::nullopt;
}

std::optional<OverrideTarget> resolve_route(toml::table& root, const std::string& variable,
                                            std::string_view selector, Diagnostics& diagnostics) {
  toml::node* node = root.get("routes");
  toml::array* routes = node != nullptr ? node->as_array() : nullptr;
  const std::size_t count = routes != nullptr ? routes->size() : 0;
  if (is_digits(selector)) {
    std::size_t index = 0;
    const auto parsed = std::from_chars(selector.data(), selector.data() + selector.size(), index);
    if (parsed.ec == std::errc{} && index < count && routes->get(index)->is_table()) {
      return OverrideTarget{routes->get(index)->as_table(), index_path("routes", index),
                            route_schema};
    }
    diagnostics.report_variable(variable, "routes[" + std::string(selector) + "]",
                                "no route at index " + std::string(selector) + " (" +
                                    std::to_string(count) + " routes are defined)");
    return std::nullopt;
  }
  for (std::size_t i = 0; i < count; ++i) {
    toml::table* route = routes->get(i)->as_table();
    const toml::node* name = route != nullptr ? route->get("name") : nullptr;
    if (name != nullptr && name->is_string() &&
        equals_ignore_case(name->as_string()->get(), selector)) {
      return OverrideTarget{route, index_path("routes", i), route_schema};
    }
  }
  diagnostics.report_variable(variable, "routes." + std::string(selector),
                              "no route named " + quoted(selector) + " is defined");
  return std::nullopt;
}

// The table an override writes into, or nullopt (with an error) when the variable does not
// name one. `segments` are the lower-cased parts after LEVEE_, the last one being the key.
std::optional<OverrideTarget> resolve_target(toml::table& root, const std::string& variable,
                                             const std::vector<std::string>& segments,
                                             Diagnostics& diagnostics) {
  const std::string& section = segments.front();
  const bool keyed = section == "upstreams" || section == "routes";
  const std::size_t expected = keyed ? 3 : 2;
  if (segments.size() != expected) {
    const std::string form = std::string(environment_prefix) + upper(section) +
                             (section == "upstreams" ? "__<NAME>"
                              : section == "routes"  ? "__<NAME or INDEX>"
                                                     : "") +
                             "__<KEY>";
    diagnostics.report_variable(variable, join(segments, "."),
                                "does not name a configuration key; expected " + form);
    return std::nullopt;
  }
  if (section == "upstreams") return resolve_upstream(root, variable, segments[1], diagnostics);
  if (section == "routes") return resolve_route(root, variable, segments[1], diagnostics);
  toml::table* table = child_table(root, section);
  if (table == nullptr) {
    diagnostics.report_variable(variable, section,
                                "cannot override: [" + section + "] in the file is not a table");
    return std::nullopt;
  }
  return OverrideTarget{table, section,
                        section == "server" ? Schema(server_schema) : Schema(log_schema)};
}

// The value as TOML when it parses as one, else as a string. Keys that hold strings take the
// raw text unless it is a quoted TOML string, so LEVEE_SERVER__DRAIN_TIMEOUT=0 means "0".
void set_override_value(toml::table& table, std::string_view key, const std::string& raw,
                        Kind kind) {
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + raw);
  } catch (const toml::parse_error&) {
    parsed = toml::table{};
  }
  toml::node* value = parsed.size() == 1 ? parsed.get("v") : nullptr;
  const bool wants_string = kind == Kind::string || kind == Kind::address || kind == Kind::duration;
  if (value != nullptr && (!wants_string || value->is_string())) {
    table.insert_or_assign(std::string(key), std::move(*value));
  } else {
    table.insert_or_assign(std::string(key), raw);
  }
}

void apply_overrides(toml::table& root, const std::map<std::string, std::string>& environment,
                     Diagnostics& diagnostics) {
  for (const auto& [variable, value] : environment) {
    if (!variable.starts_with(environment_prefix)) continue;
    const auto segments =
        split_segments(std::string_view(variable).substr(environment_prefix.size()));
    if (std::find(section_names.begin(), section_names.end(), segments.front()) ==
        section_names.end()) {
      continue;
    }
    const auto target = resolve_target(root, variable, segments, diagnostics);
    if (!target) continue;
    const std::string& key = segments.back();
    const std::string key_path = target->path + "." + key;
    const Field* field = find_field(target->schema, key);
    if (field == nullptr) {
      diagnostics.report_variable(
          variable, key_path, "unknown key (expected one of: " + schema_keys(target->schema) + ")");
      continue;
    }
    set_override_value(*target->table, key, value, field->kind);
    diagnostics.note_override(key_path, variable);
  }
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> variables;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos || !text.starts_with(environment_prefix)) continue;
    variables.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  return variables;
}

}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  return parse_endpoint_checked(text).endpoint;
}

Config load_string(std::string_view toml_text, std::string source_name,
                   const std::map<std::string, std::string>& environment) {
  Diagnostics diagnostics(source_name);
  toml::table root;
  try {
    root = toml::parse(toml_text, std::string_view(source_name));
  } catch (const toml::parse_error& error) {
    diagnostics.report(error.source(), "",
                       "TOML syntax error: " + std::string(error.description()));
    throw ConfigErrors(diagnostics.take_sorted());
  }
  apply_overrides(root, environment, diagnostics);

  Config config;
  config.source = std::move(source_name);
  read_root(root, config, diagnostics);
  if (!diagnostics.empty()) throw ConfigErrors(diagnostics.take_sorted());

  if (config.server.workers == 0) {
    config.server.workers = std::max(1U, std::thread::hardware_concurrency());
  }
  return config;
}

Config load_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    const std::error_code error(errno, std::generic_category());
    throw ConfigErrors({ConfigError{path, 0, 0, "", "cannot open: " + error.message()}});
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    throw ConfigErrors({ConfigError{path, 0, 0, "", "cannot read the file"}});
  }
  return load_string(text.str(), path, process_environment());
}

}  // namespace levee::config
