#include "bench/scenario_loader.hpp"

#include <toml++/toml.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "bench/request_builder.hpp"
#include "config/config_error.hpp"
#include "config/units.hpp"

namespace levee::bench {
namespace {

using config::ConfigError;
using config::ConfigErrors;

constexpr double k_max_rate = 10'000'000;
constexpr std::uint64_t k_max_count = 100'000'000;
constexpr Nanos k_max_length = std::chrono::hours(24);
constexpr Nanos k_default_client_interval = std::chrono::milliseconds(100);

// Reads one table's keys, reporting every problem with its position; keys that no reader
// asked for are reported as unknown when the table is finished.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string path, std::string source,
              std::vector<ConfigError>& errors)
      : table_(table), path_(std::move(path)), source_(std::move(source)), errors_(errors) {}
  TableReader(const TableReader&) = delete;
  TableReader& operator=(const TableReader&) = delete;
  ~TableReader() {
    for (const auto& [key, node] : table_) {
      if (!seen_.contains(std::string(key.str()))) {
        report(&node, std::string(key.str()), "unknown key");
      }
    }
  }

  void report(const toml::node* node, const std::string& key, std::string message) {
    const toml::source_region where = node != nullptr ? node->source() : table_.source();
    errors_.push_back(ConfigError{where.path ? std::string(*where.path) : source_, where.begin.line,
                                  where.begin.column, key_path(key), std::move(message)});
  }

  [[nodiscard]] std::string key_path(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }

  const toml::node* node(const std::string& key) {
    seen_.insert(key);
    return table_.get(key);
  }

  std::optional<std::string> string(const std::string& key) {
    const toml::node* value = node(key);
    if (value == nullptr) return std::nullopt;
    if (const auto* text = value->as_string()) return text->get();
    report(value, key, "expected a string");
    return std::nullopt;
  }

  std::optional<double> number(const std::string& key, double low, double high) {
    const toml::node* value = node(key);
    if (value == nullptr) return std::nullopt;
    double number = 0;
    if (const auto* integer = value->as_integer()) {
      number = static_cast<double>(integer->get());
    } else if (const auto* floating = value->as_floating_point()) {
      number = floating->get();
    } else {
      report(value, key, "expected a number");
      return std::nullopt;
    }
    if (!std::isfinite(number) || number < low || number > high) {
      report(value, key, range_message(low, high));
      return std::nullopt;
    }
    return number;
  }

  std::optional<std::uint64_t> count(const std::string& key, std::uint64_t low,
                                     std::uint64_t high) {
    const toml::node* value = node(key);
    if (value == nullptr) return std::nullopt;
    const auto* integer = value->as_integer();
    if (integer == nullptr) {
      report(value, key, "expected an integer");
      return std::nullopt;
    }
    if (integer->get() < 0 || static_cast<std::uint64_t>(integer->get()) < low ||
        static_cast<std::uint64_t>(integer->get()) > high) {
      report(value, key, range_message(static_cast<double>(low), static_cast<double>(high)));
      return std::nullopt;
    }
    return static_cast<std::uint64_t>(integer->get());
  }

  std::optional<Nanos> duration(const std::string& key, Nanos low, Nanos high) {
    const toml::node* value = node(key);
    if (value == nullptr) return std::nullopt;
    const auto* text = value->as_string();
    const auto parsed = text != nullptr ? config::parse_duration(text->get()) : std::nullopt;
    if (!parsed) {
      report(value, key, "expected a duration such as \"50ms\", \"1.5s\", \"2m\"");
      return std::nullopt;
    }
    if (*parsed < low || *parsed > high) {
      report(value, key,
             "must be between " + config::format_duration(low) + " and " +
                 config::format_duration(high));
      return std::nullopt;
    }
    return parsed;
  }

  template <typename Enum>
  std::optional<Enum> choice(const std::string& key,
                             std::initializer_list<std::pair<const char*, Enum>> options) {
    const auto text = string(key);
    if (!text) return std::nullopt;
    std::string names;
    for (const auto& [name, value] : options) {
      if (*text == name) return value;
      names += names.empty() ? "" : ", ";
      names += name;
    }
    report(table_.get(key), key, "expected one of " + names);
    return std::nullopt;
  }

  [[nodiscard]] const toml::table& table() const { return table_; }
  [[nodiscard]] const std::string& source() const { return source_; }
  [[nodiscard]] std::vector<ConfigError>& errors() { return errors_; }

 private:
  static std::string range_message(double low, double high) {
    std::ostringstream out;
    out.precision(15);
    out << "must be between " << low << " and " << high;
    return out.str();
  }

  const toml::table& table_;
  std::string path_;
  std::string source_;
  std::vector<ConfigError>& errors_;
  std::set<std::string> seen_;
};

// A rate given either directly (`<prefix>rate` style keys) or as clients, each sending one
// request every client_interval (a k6 virtual user that sleeps between requests).
std::optional<double> read_rate(TableReader& reader, const std::string& rate_key,
                                const std::string& clients_key, Nanos client_interval) {
  const auto rate = reader.number(rate_key, 0, k_max_rate);
  const auto clients = reader.number(clients_key, 0, 1'000'000);
  if (rate && clients) {
    reader.report(reader.table().get(clients_key), clients_key,
                  "give either " + rate_key + " or " + clients_key + ", not both");
    return std::nullopt;
  }
  if (clients) return *clients / std::chrono::duration<double>(client_interval).count();
  return rate;
}

void read_phase(const toml::table& table, const std::string& path, Scenario& scenario,
                std::vector<ConfigError>& errors, const std::string& source) {
  TableReader reader(table, path, source, errors);
  const auto kind = reader.string("kind").value_or("");
  Phase phase;
  phase.label = reader.string("label").value_or(kind);
  phase.arrival = reader
                      .choice<Arrival>(
                          "arrival", {{"uniform", Arrival::uniform}, {"poisson", Arrival::poisson}})
                      .value_or(Arrival::uniform);
  const Nanos interval =
      reader.duration("client_interval", std::chrono::microseconds(1), std::chrono::minutes(10))
          .value_or(k_default_client_interval);
  auto need = [&reader](const char* key) {
    reader.report(nullptr, key, std::string("is required for this phase kind"));
  };

  if (kind == "constant") {
    phase.kind = Phase::Kind::constant;
    const auto rate = read_rate(reader, "rate", "clients", interval);
    const auto duration = reader.duration("duration", Nanos{1}, k_max_length);
    if (!rate) need("rate");
    if (!duration) need("duration");
    phase.rate_from = phase.rate_to = rate.value_or(0);
    phase.duration = duration.value_or(Nanos{0});
    scenario.phases.push_back(phase);
  } else if (kind == "pause") {
    phase.kind = Phase::Kind::constant;
    const auto duration = reader.duration("duration", Nanos{1}, k_max_length);
    if (!duration) need("duration");
    phase.duration = duration.value_or(Nanos{0});
    scenario.phases.push_back(phase);
  } else if (kind == "ramp" || kind == "steps") {
    const auto from = read_rate(reader, "from", "clients_from", interval);
    const auto to = read_rate(reader, "to", "clients_to", interval);
    if (!from) need("from");
    if (!to) need("to");
    if (kind == "ramp") {
      phase.kind = Phase::Kind::ramp;
      const auto duration = reader.duration("duration", Nanos{1}, k_max_length);
      if (!duration) need("duration");
      phase.rate_from = from.value_or(0);
      phase.rate_to = to.value_or(0);
      phase.duration = duration.value_or(Nanos{0});
      scenario.phases.push_back(phase);
      return;
    }
    // Steps: `steps` constant stretches from `from` to `to` in equal increments.
    const auto steps = reader.count("steps", 1, 1000);
    const auto step_duration = reader.duration("step_duration", Nanos{1}, k_max_length);
    if (!steps) need("steps");
    if (!step_duration) need("step_duration");
    if (!from || !to || !steps || !step_duration) return;
    for (std::uint64_t i = 0; i < *steps; ++i) {
      Phase step = phase;
      step.kind = Phase::Kind::constant;
      const double fraction =
          *steps == 1 ? 1.0 : static_cast<double>(i) / static_cast<double>(*steps - 1);
      step.rate_from = step.rate_to = *from + (*to - *from) * fraction;
      step.duration = *step_duration;
      step.label = phase.label + " " + std::to_string(i + 1) + "/" + std::to_string(*steps);
      scenario.phases.push_back(step);
    }
  } else if (kind == "waves") {
    phase.kind = Phase::Kind::waves;
    const auto waves = reader.count("waves", 1, k_max_count);
    const auto size = reader.count("size", 1, 1'000'000);
    const auto wave_interval =
        reader.duration("interval", std::chrono::microseconds(1), k_max_length);
    if (!waves) need("waves");
    if (!size) need("size");
    if (!wave_interval) need("interval");
    phase.waves = waves.value_or(0);
    phase.wave_size = size.value_or(0);
    phase.interval = wave_interval.value_or(Nanos{0});
    scenario.phases.push_back(phase);
  } else {
    reader.report(table.get("kind"), "kind", "expected one of constant, ramp, steps, waves, pause");
  }
}

void read_scenario(const toml::table& root, const std::string& source, Scenario& scenario,
                   std::vector<ConfigError>& errors) {
  TableReader top(root, "", source, errors);
  scenario.name = top.string("name").value_or("");
  if (scenario.name.empty()) top.report(nullptr, "name", "is required");
  scenario.description = top.string("description").value_or("");
  scenario.seed = top.count("seed", 0, std::numeric_limits<std::int64_t>::max()).value_or(1);
  scenario.mode =
      top.choice<LoopMode>("mode", {{"open", LoopMode::open}, {"closed", LoopMode::closed}})
          .value_or(LoopMode::open);
  scenario.connections = top.count("connections", 1, 65535).value_or(scenario.connections);
  scenario.duration = top.duration("duration", Nanos{1}, k_max_length).value_or(Nanos{0});
  scenario.verify = top.choice<Verification>("verify", {{"echo", Verification::echo},
                                                        {"id", Verification::id},
                                                        {"status", Verification::status},
                                                        {"none", Verification::none}})
                        .value_or(Verification::echo);
  if (auto header = top.string("overhead_header")) {
    if (header->find_first_of(" \t:\r\n") != std::string::npos) {
      top.report(root.get("overhead_header"), "overhead_header",
                 "expected a header name such as \"X-Levee-Batch\"");
    } else {
      scenario.overhead_header = std::move(*header);
    }
  }

  if (const toml::node* phases = top.node("phase")) {
    const auto* array = phases->as_array();
    if (array == nullptr) {
      top.report(phases, "phase", "expected an array of tables ([[phase]])");
    } else {
      for (std::size_t i = 0; i < array->size(); ++i) {
        const std::string path = "phase[" + std::to_string(i) + "]";
        if (const auto* table = array->get(i)->as_table()) {
          read_phase(*table, path, scenario, errors, source);
        } else {
          top.report(array->get(i), path, "expected a table ([[phase]])");
        }
      }
    }
  }
  if (scenario.mode == LoopMode::open && scenario.phases.empty()) {
    top.report(nullptr, "phase", "an open-loop scenario needs at least one [[phase]]");
  }

  auto sub_table = [&top](const std::string& key) -> const toml::table* {
    const toml::node* node = top.node(key);
    if (node == nullptr) return nullptr;
    if (const auto* table = node->as_table()) return table;
    top.report(node, key, "expected a table ([" + key + "])");
    return nullptr;
  };

  if (const toml::table* table = sub_table("keys")) {
    TableReader keys(*table, "keys", source, errors);
    scenario.keys.distribution =
        keys.choice<KeyDistribution>("distribution", {{"single", KeyDistribution::single},
                                                      {"uniform", KeyDistribution::uniform},
                                                      {"zipf", KeyDistribution::zipf}})
            .value_or(KeyDistribution::single);
    scenario.keys.count = keys.count("count", 1, 10'000'000).value_or(1);
    scenario.keys.zipf_exponent = keys.number("zipf_exponent", 0.01, 10).value_or(1.0);
  }

  if (const toml::table* table = sub_table("request")) {
    TableReader request(*table, "request", source, errors);
    RequestTemplate& out = scenario.request;
    out.method = request
                     .choice<std::string>("method", {{"GET", "GET"},
                                                     {"HEAD", "HEAD"},
                                                     {"POST", "POST"},
                                                     {"PUT", "PUT"},
                                                     {"DELETE", "DELETE"}})
                     .value_or(out.method);
    auto template_string = [&request](const std::string& key, std::string& target) {
      if (auto text = request.string(key)) {
        if (auto unknown = unknown_placeholder(*text)) {
          request.report(request.table().get(key), key,
                         "unknown placeholder {" + *unknown + "} (known: {key}, {seq}, {user})");
        }
        if (text->find_first_of("\r\n") != std::string::npos) {
          request.report(request.table().get(key), key, "must not contain CR or LF");
        }
        target = *text;
      }
    };
    template_string("path", out.path);
    if (out.path.empty() || out.path.front() != '/') {
      request.report(table->get("path"), "path", "must start with /");
    }
    template_string("query", out.query);
    template_string("body", out.body);
    template_string("authorization", out.authorization);
    out.users = request.count("users", 0, 1'000'000).value_or(0);
    if (const toml::node* headers = request.node("headers")) {
      if (const auto* header_table = headers->as_table()) {
        for (const auto& [name, value] : *header_table) {
          const auto* text = value.as_string();
          const std::string key = "headers." + std::string(name.str());
          if (text == nullptr) {
            request.report(&value, key, "expected a string");
          } else if (text->get().find_first_of("\r\n") != std::string::npos ||
                     name.str().find_first_of(" :\r\n") != std::string_view::npos) {
            request.report(&value, key, "header names and values must not contain CR or LF");
          } else {
            out.headers.emplace_back(std::string(name.str()), text->get());
          }
        }
      } else {
        request.report(headers, "headers", "expected a table of header names to values");
      }
    }
  }

  if (const toml::table* table = sub_table("limits")) {
    TableReader limits(*table, "limits", source, errors);
    Limits& out = scenario.limits;
    out.max_duration = limits.duration("max_duration", std::chrono::milliseconds(1), k_max_length)
                           .value_or(out.max_duration);
    out.max_requests = limits.count("max_requests", 1, k_max_count).value_or(out.max_requests);
    out.max_connections = limits.count("max_connections", 1, 65535).value_or(out.max_connections);
    out.max_queued = limits.count("max_queued", 1, k_max_count).value_or(out.max_queued);
    out.timeout = limits.duration("timeout", std::chrono::milliseconds(1), std::chrono::hours(1))
                      .value_or(out.timeout);
  }
  if (scenario.mode == LoopMode::closed && scenario.duration == Nanos{0} &&
      !root.contains("limits")) {
    // Without a duration a closed loop runs to max_requests; say so rather than run 10M.
    top.report(nullptr, "duration", "a closed-loop scenario needs a duration or limits");
  }
}

// Walks `a.b.0.c` through tables and arrays, creating tables that do not exist yet.
void apply_override(toml::table& root, const std::string& assignment,
                    std::vector<ConfigError>& errors) {
  const std::string source = "--set " + assignment;
  const auto equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0) {
    errors.push_back({source, 0, 0, "", "expected KEY=VALUE"});
    return;
  }
  const std::string key = assignment.substr(0, equals);
  const std::string raw = assignment.substr(equals + 1);
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const auto dot = key.find('.', start);
    parts.push_back(key.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }

  // The value as TOML ("2000", "\"50ms\"", "true"), or else as a bare string ("50ms").
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + raw);
  } catch (const toml::parse_error&) {
    parsed = toml::table{{"v", raw}};
  }
  const toml::node* value = parsed.get("v");

  toml::node* at = &root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string& part = parts[i];
    if (auto* table = at->as_table()) {
      if (!table->contains(part)) table->insert(part, toml::table{});
      at = table->get(part);
    } else if (auto* array = at->as_array()) {
      std::size_t index = 0;
      const auto result = std::from_chars(part.data(), part.data() + part.size(), index);
      if (result.ec != std::errc{} || result.ptr != part.data() + part.size() ||
          index >= array->size()) {
        errors.push_back({source, 0, 0, key, "no element " + part + " in this array"});
        return;
      }
      at = array->get(index);
    } else {
      errors.push_back({source, 0, 0, key, "'" + part + "' is not a table or array"});
      return;
    }
  }
  auto* table = at->as_table();
  if (table == nullptr) {
    errors.push_back({source, 0, 0, key, "the parent of the last key is not a table"});
    return;
  }
  table->insert_or_assign(parts.back(), *value);
}

}  // namespace

const char* to_string(LoopMode mode) noexcept { return mode == LoopMode::open ? "open" : "closed"; }

const char* to_string(Verification verification) noexcept {
  switch (verification) {
    case Verification::echo:
      return "echo";
    case Verification::id:
      return "id";
    case Verification::status:
      return "status";
    case Verification::none:
      return "none";
  }
  return "?";
}

Scenario load_scenario_text(std::string_view toml_text, const std::string& source,
                            const std::vector<std::string>& overrides) {
  toml::table root;
  try {
    root = toml::parse(toml_text, std::string_view(source));
  } catch (const toml::parse_error& error) {
    throw ConfigErrors({ConfigError{source, error.source().begin.line, error.source().begin.column,
                                    "", std::string(error.description())}});
  }
  std::vector<ConfigError> errors;
  for (const std::string& assignment : overrides) apply_override(root, assignment, errors);
  if (!errors.empty()) throw ConfigErrors(std::move(errors));

  Scenario scenario;
  read_scenario(root, source, scenario, errors);
  if (!errors.empty()) throw ConfigErrors(std::move(errors));
  return scenario;
}

Scenario load_scenario_file(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw ConfigErrors({ConfigError{path, 0, 0, "", "cannot open the scenario file"}});
  std::ostringstream text;
  text << file.rdbuf();
  return load_scenario_text(text.str(), path, overrides);
}

}  // namespace levee::bench
