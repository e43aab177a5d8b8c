#include "config/loader.hpp"

#include <sys/stat.h>
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

#include "config/http2_section.hpp"
#include "config/resilience_sections.hpp"
#include "config/route_sections.hpp"
#include "config/table_reader.hpp"
#include "config/telemetry_section.hpp"
#include "config/units.hpp"

namespace levee::config {
namespace {

using namespace detail;  // NOLINT(google-build-using-namespace): the loader's own machinery

// ---------------------------------------------------------------------------------------------
// Schema of the tables read here (Kind, Field: table_reader.hpp).

constexpr std::array server_schema{
    Field{"listen", Kind::address},
    Field{"admin_listen", Kind::address},
    Field{"workers", Kind::integer},
    Field{"drain_timeout", Kind::duration},
    Field{"max_connections", Kind::integer},
    Field{"max_header_bytes", Kind::size},
    Field{"max_body_bytes", Kind::size},
    Field{"header_timeout", Kind::duration},
    Field{"body_timeout", Kind::duration},
    Field{"idle_timeout", Kind::duration},
    Field{"http2", Kind::table},
    Field{"tls_cert_file", Kind::string},
    Field{"tls_key_file", Kind::string},
    Field{"tls_ciphers", Kind::string},
    Field{"tls_min_version", Kind::string},
    Field{"admin_tls_cert_file", Kind::string},
    Field{"admin_tls_key_file", Kind::string},
};

constexpr std::array log_schema{
    Field{"level", Kind::string},
    Field{"access_log", Kind::string},
};

constexpr std::array upstream_schema{
    Field{"address", Kind::address},
    Field{"connect_timeout", Kind::duration},
    Field{"request_timeout", Kind::duration},
    Field{"max_idle_connections", Kind::integer},
    Field{"idle_timeout", Kind::duration},
    Field{"max_response_bytes", Kind::size},
    Field{"max_inflight", Kind::integer},
    Field{"breaker", Kind::table},
    Field{"protocol", Kind::string},
    Field{"max_h2_connections", Kind::integer},
    Field{"tls", Kind::boolean},
    Field{"tls_ca_file", Kind::string},
    Field{"tls_server_name", Kind::string},
    Field{"tls_client_cert", Kind::string},
    Field{"tls_client_key", Kind::string},
    Field{"tls_verify", Kind::boolean},
};

constexpr std::array route_schema{
    Field{"name", Kind::string},
    Field{"host", Kind::string},
    Field{"path_prefix", Kind::string},
    Field{"methods", Kind::list},
    Field{"upstream", Kind::string},
    Field{"mode", Kind::string},
    Field{"collapse", Kind::table},
    Field{"batch", Kind::table},
    Field{"cache", Kind::table},
    Field{"max_pending", Kind::integer},
    Field{"admission_timeout", Kind::duration},
    Field{"forward_trailers", Kind::boolean},
    Field{"grpc", Kind::boolean},
};

constexpr std::array<std::string_view, 6> section_names{"server", "log",   "upstreams",
                                                        "routes", "cache", "telemetry"};
constexpr std::array<std::string_view, 7> log_levels{"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};

constexpr std::int64_t max_workers = 256;

constexpr std::string_view environment_prefix = "LEVEE_";

// ---------------------------------------------------------------------------------------------
// Sections.

// Both files or neither: a certificate without its key (or the reverse) is a typo, not a wish
// for cleartext.
void read_tls_files(TableReader& reader, std::string_view prefix, TlsListenerConfig& tls) {
  const std::string cert_key = std::string(prefix) + "tls_cert_file";
  const std::string key_key = std::string(prefix) + "tls_key_file";
  auto cert = reader.string(cert_key);
  auto key = reader.string(key_key);
  for (const auto& [name, value] : {std::pair{&cert_key, &cert}, std::pair{&key_key, &key}}) {
    if (*value && (*value)->empty()) {
      reader.report(*name, "must name a PEM file (leave the key out for no TLS)");
      value->reset();
    }
  }
  if (cert.has_value() != key.has_value()) {
    const bool cert_missing = !cert.has_value() && reader.find(cert_key) == nullptr;
    const bool key_missing = !key.has_value() && reader.find(key_key) == nullptr;
    if (cert_missing) reader.report(key_key, "needs server." + cert_key + " too");
    if (key_missing) reader.report(cert_key, "needs server." + key_key + " too");
    return;
  }
  if (cert) {
    tls.cert_file = std::move(*cert);
    tls.key_file = std::move(*key);
  }
}

void read_tls(TableReader& reader, ServerConfig& server) {
  read_tls_files(reader, "", server.tls);
  read_tls_files(reader, "admin_", server.admin_tls);
  if (auto ciphers = reader.string("tls_ciphers")) server.tls.ciphers = std::move(*ciphers);
  if (auto version = reader.string("tls_min_version")) {
    if (*version == "1.2") {
      server.tls.min_version = TlsVersion::tls1_2;
    } else if (*version == "1.3") {
      server.tls.min_version = TlsVersion::tls1_3;
    } else if (*version == "1.0" || *version == "1.1" || version->starts_with("SSL")) {
      reader.report("tls_min_version",
                    "TLS " + *version + " is refused: levee speaks TLS 1.2 and 1.3 only");
    } else {
      reader.report("tls_min_version", "expected \"1.2\" or \"1.3\", got " + quoted(*version));
    }
  }
  server.admin_tls.ciphers = server.tls.ciphers;
  server.admin_tls.min_version = server.tls.min_version;
}

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
  read_http2(reader, server.http2, diagnostics);

  read_tls(reader, server);

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

// protocol, max_h2_connections and the tls_* keys. The files are read later, by the
// preflight (config/preflight.hpp), which reports an unreadable or invalid one at its key.
void read_upstream_protocol(TableReader& reader, UpstreamConfig& upstream) {
  if (auto text = reader.string("protocol")) {
    if (*text == "http1") {
      upstream.protocol = UpstreamProtocol::http1;
    } else if (*text == "h2c") {
      upstream.protocol = UpstreamProtocol::h2c;
    } else if (*text == "h2") {
      upstream.protocol = UpstreamProtocol::h2;
    } else {
      reader.report("protocol", "unknown protocol " + quoted(*text) +
                                    " (expected \"http1\", \"h2c\" or \"h2\")");
    }
  }
  assign(upstream.max_h2_connections, reader.integer("max_h2_connections", 1, 1024));
  UpstreamTlsConfig& tls = upstream.tls;
  const auto enabled = reader.boolean("tls");
  if (upstream.protocol == UpstreamProtocol::h2) {
    if (enabled && !*enabled) {
      reader.report("tls",
                    "protocol = \"h2\" is HTTP/2 over TLS; use protocol = \"h2c\" for "
                    "cleartext HTTP/2");
    }
    tls.enabled = true;
  } else if (enabled) {
    if (*enabled && upstream.protocol == UpstreamProtocol::h2c) {
      reader.report("tls",
                    "protocol = \"h2c\" is cleartext HTTP/2; use protocol = \"h2\" for "
                    "HTTP/2 over TLS");
    }
    tls.enabled = *enabled;
  }
  for (auto [key, target] :
       {std::pair{"tls_ca_file", &tls.ca_file}, std::pair{"tls_server_name", &tls.server_name},
        std::pair{"tls_client_cert", &tls.client_cert},
        std::pair{"tls_client_key", &tls.client_key}}) {
    auto text = reader.string(key);
    if (!text) continue;
    if (text->empty()) {
      reader.report(key, "must not be empty (leave the key out for the default)");
    } else if (!tls.enabled) {
      reader.report(key, "needs tls = true or protocol = \"h2\"");
    } else {
      *target = std::move(*text);
    }
  }
  if (auto verify = reader.boolean("tls_verify")) {
    if (!tls.enabled) reader.report("tls_verify", "needs tls = true or protocol = \"h2\"");
    tls.verify = *verify;
  }
  if (tls.client_cert.empty() != tls.client_key.empty()) {
    const auto* missing = tls.client_cert.empty() ? "tls_client_cert" : "tls_client_key";
    const auto* given = tls.client_cert.empty() ? "tls_client_key" : "tls_client_cert";
    reader.report(given, std::string(given) + " needs " + missing + ": give both or neither");
  }
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
    assign(upstream.max_inflight, reader.integer("max_inflight", 1, 1'000'000));
    read_breaker(reader, path, upstream, diagnostics);
    read_upstream_protocol(reader, upstream);
    reader.reject_unknown_keys();
    config.upstreams.push_back(std::move(upstream));
  }
  if (upstreams->empty()) {
    diagnostics.report(node->source(), "upstreams", "at least one upstream is required");
  }
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
  defined_upstreams.reserve(config.upstreams.size());
  for (const UpstreamConfig& upstream : config.upstreams) {
    defined_upstreams.push_back(upstream.name);
  }
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
    read_collapse(reader, path, route, diagnostics, config.cache.has_redis());
    read_batch(reader, path, route, diagnostics);
    read_route_cache(reader, path, route, diagnostics);
    read_admission(reader, route);
    read_forward_trailers(reader, route);
    const toml::node* collapse_table = reader.find("collapse");
    read_grpc(reader, route,
              collapse_table != nullptr && collapse_table->as_table() != nullptr &&
                  collapse_table->as_table()->contains("methods"));
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
  if (const toml::table* cache = section_table(root, "cache", diagnostics)) {
    read_cache(*cache, config.cache, diagnostics);
  }
  if (const toml::table* telemetry = section_table(root, "telemetry", diagnostics)) {
    read_telemetry(*telemetry, config.telemetry, diagnostics);
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
  // A key of a route's or an upstream's sub-table: LEVEE_ROUTES__<NAME>__BATCH__<KEY>,
  // LEVEE_UPSTREAMS__<NAME>__BREAKER__<KEY>.
  const Schema subtable_schema = segments.size() != 4  ? Schema{}
                                 : section == "routes" ? route_subtable_schema(segments[2])
                                 : section == "upstreams" && segments[2] == "breaker"
                                     ? breaker_schema()
                                     : Schema{};
  const bool in_subtable = !subtable_schema.empty();
  if (segments.size() != expected && !in_subtable) {
    const std::string form =
        std::string(environment_prefix) + upper(section) +
        (section == "upstreams" ? "__<NAME>[__BREAKER]"
         : section == "routes"  ? "__<NAME or INDEX>[__COLLAPSE|__BATCH|__CACHE]"
                                : "") +
        "__<KEY>";
    diagnostics.report_variable(variable, join(segments, "."),
                                "does not name a configuration key; expected " + form);
    return std::nullopt;
  }
  if (section == "upstreams" || section == "routes") {
    auto owner = section == "routes" ? resolve_route(root, variable, segments[1], diagnostics)
                                     : resolve_upstream(root, variable, segments[1], diagnostics);
    if (!owner || !in_subtable) return owner;
    const std::string& name = segments[2];
    toml::table* table = child_table(*owner->table, name);
    const std::string path = owner->path + "." + name;
    if (table == nullptr) {
      diagnostics.report_variable(variable, path,
                                  "cannot override: " + path + " in the file is not a table");
      return std::nullopt;
    }
    return OverrideTarget{table, path, subtable_schema};
  }
  toml::table* table = child_table(root, section);
  if (table == nullptr) {
    diagnostics.report_variable(variable, section,
                                "cannot override: [" + section + "] in the file is not a table");
    return std::nullopt;
  }
  const Schema schema = section == "server"      ? Schema(server_schema)
                        : section == "cache"     ? cache_schema()
                        : section == "telemetry" ? telemetry_schema()
                                                 : Schema(log_schema);
  return OverrideTarget{table, section, schema};
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

// Config::origins: where each key of the parsed (and overridden) tree was written. An
// overridden key's node was parsed from the variable's value, so its position means nothing;
// the variable is named instead.
void record_origins(const toml::node& node, const std::string& key, const std::string& source,
                    const Diagnostics& diagnostics, std::map<std::string, KeyOrigin>& origins) {
  if (!key.empty()) {
    if (const std::string* variable = diagnostics.overriding_variable(key)) {
      origins.insert_or_assign(key, KeyOrigin{"environment variable " + *variable, 0, 0});
    } else {
      const toml::source_position& begin = node.source().begin;
      origins.insert_or_assign(key, KeyOrigin{source, begin.line, begin.column});
    }
  }
  if (const toml::table* table = node.as_table()) {
    for (const auto& [name, value] : *table) {
      const std::string child =
          key.empty() ? std::string(name.str()) : key + "." + std::string(name.str());
      record_origins(value, child, source, diagnostics, origins);
    }
  } else if (const toml::array* array = node.as_array()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      record_origins(*array->get(i), index_path(key, i), source, diagnostics, origins);
    }
  }
}

// A relative model or TLS file path names a file next to the config file, wherever levee is
// started. (Plain string handling: <filesystem> here would make std::quoted collide with ours.)
void resolve_relative_paths(Config& config) {
  const auto slash = config.source.rfind('/');
  if (slash == std::string::npos) return;
  const std::string directory = config.source.substr(0, slash + 1);
  for (RouteConfig& route : config.routes) {
    for (PolicyTuning* tuning : {&route.collapse.tuning, &route.batch.tuning}) {
      if (!tuning->model.empty() && tuning->model.front() != '/') {
        tuning->model = directory + tuning->model;
      }
    }
  }
  for (UpstreamConfig& upstream : config.upstreams) {
    UpstreamTlsConfig& tls = upstream.tls;
    for (std::string* file : {&tls.ca_file, &tls.client_cert, &tls.client_key}) {
      if (!file->empty() && file->front() != '/') *file = directory + *file;
    }
  }
  for (std::string* file :
       {&config.server.tls.cert_file, &config.server.tls.key_file,
        &config.server.admin_tls.cert_file, &config.server.admin_tls.key_file}) {
    if (!file->empty() && file->front() != '/') *file = directory + *file;
  }
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
  record_origins(root, "", source_name, diagnostics, config.origins);
  config.source = std::move(source_name);
  read_root(root, config, diagnostics);
  if (!diagnostics.empty()) throw ConfigErrors(diagnostics.take_sorted());

  resolve_relative_paths(config);
  if (config.server.workers == 0) {
    config.server.workers = std::max(1U, std::thread::hardware_concurrency());
  }
  return config;
}

Config load_file(const std::string& path) {
  // std::ifstream opens a directory and reads nothing from it, which would be reported as a
  // file without upstreams or routes. A pipe is accepted (--config <(generate-config)).
  struct stat status{};
  if (::stat(path.c_str(), &status) == 0 && !S_ISREG(status.st_mode) && !S_ISFIFO(status.st_mode)) {
    throw ConfigErrors(
        {ConfigError{path, 0, 0, "",
                     S_ISDIR(status.st_mode) ? "is a directory, not a configuration file"
                                             : "is not a regular file"}});
  }
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
