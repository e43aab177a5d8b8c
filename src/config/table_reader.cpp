#include "config/table_reader.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <charconv>
#include <system_error>
#include <utility>

namespace levee::config::detail {

namespace {
constexpr std::array<std::string_view, 6> duration_suffixes{"ns", "us", "ms", "s", "m", "h"};
}  // namespace

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

std::string format_number(double value) { return fmt::format("{}", value); }

// ---------------------------------------------------------------------------------------------
// Value checks that need a reason, not just yes/no.

EndpointParse parse_endpoint_checked(std::string_view text) {
  const auto fail = [](std::string problem) {
    return EndpointParse{std::nullopt, std::move(problem)};
  };
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

}  // namespace levee::config::detail
