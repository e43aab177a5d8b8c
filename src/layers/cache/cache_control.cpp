#include "layers/cache/cache_control.hpp"

#include <algorithm>
#include <cstdint>

namespace levee::layers::cache {
namespace {

constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

struct Directive {
  std::string_view name;
  std::string_view argument;  // inside the quotes for a quoted string, escapes left as sent
  bool has_argument = false;
  bool malformed = false;  // unterminated quote, or junk between the argument and the ','
};

// Reads one list element starting at `pos` and leaves `pos` after its ',' (or at the end).
Directive next_directive(std::string_view text, std::size_t& pos) noexcept {
  Directive d;
  const std::size_t n = text.size();
  auto skip_space = [&] {
    while (pos < n && is_space(text[pos])) ++pos;
  };
  const std::size_t name_begin = pos;
  while (pos < n && text[pos] != '=' && text[pos] != ',' && !is_space(text[pos])) ++pos;
  d.name = text.substr(name_begin, pos - name_begin);
  skip_space();
  if (pos < n && text[pos] == '=') {
    ++pos;
    d.has_argument = true;
    skip_space();
    if (pos < n && text[pos] == '"') {
      ++pos;
      const std::size_t arg_begin = pos;
      bool closed = false;
      while (pos < n) {
        if (text[pos] == '\\') {
          pos = std::min(n, pos + 2);
          continue;
        }
        if (text[pos] == '"') {
          closed = true;
          break;
        }
        ++pos;
      }
      d.argument = text.substr(arg_begin, pos - arg_begin);
      if (closed) {
        ++pos;
      } else {
        d.malformed = true;
      }
    } else {
      const std::size_t arg_begin = pos;
      while (pos < n && text[pos] != ',' && !is_space(text[pos])) ++pos;
      d.argument = text.substr(arg_begin, pos - arg_begin);
    }
    skip_space();
  }
  if (pos < n && text[pos] != ',') {
    d.malformed = true;
    // A quoted string in the junk may hold a ',' that does not end the element.
    bool quoted = false;
    while (pos < n && (quoted || text[pos] != ',')) {
      if (quoted && text[pos] == '\\') {
        pos = std::min(n, pos + 2);
        continue;
      }
      if (text[pos] == '"') quoted = !quoted;
      ++pos;
    }
  }
  if (pos < n) ++pos;  // the ','
  return d;
}

std::optional<std::chrono::seconds> argument_seconds(const Directive& d) noexcept {
  if (!d.has_argument || d.malformed) return std::nullopt;
  return parse_delta_seconds(d.argument);
}

// max-age and s-maxage: invalid or conflicting values mean "stale" (0).
void set_lifetime(std::optional<std::chrono::seconds>& field, const Directive& d) noexcept {
  const std::optional<std::chrono::seconds> value = argument_seconds(d);
  if (!value || (field && *field != *value)) {
    field = std::chrono::seconds{0};
  } else if (!field) {
    field = value;
  }
}

}  // namespace

std::optional<std::chrono::seconds> parse_delta_seconds(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  const std::int64_t cap = k_max_delta_seconds.count();
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    // Keeps reading digits once clamped, so "99999999999x" is still rejected.
    if (value < cap) value = std::min(cap, value * 10 + (c - '0'));
  }
  return std::chrono::seconds{value};
}

void merge_cache_control(CacheControl& into, std::string_view value) noexcept {
  std::size_t pos = 0;
  while (pos < value.size()) {
    while (pos < value.size() && (is_space(value[pos]) || value[pos] == ',')) ++pos;
    if (pos >= value.size()) break;
    const Directive d = next_directive(value, pos);
    if (d.name.empty()) continue;
    if (core::iequals(d.name, "no-store")) {
      into.no_store = true;
    } else if (core::iequals(d.name, "no-cache")) {
      into.no_cache = true;
    } else if (core::iequals(d.name, "private")) {
      into.private_ = true;
    } else if (core::iequals(d.name, "public")) {
      into.public_ = true;
    } else if (core::iequals(d.name, "must-revalidate")) {
      into.must_revalidate = true;
    } else if (core::iequals(d.name, "proxy-revalidate")) {
      into.proxy_revalidate = true;
    } else if (core::iequals(d.name, "max-age")) {
      set_lifetime(into.max_age, d);
    } else if (core::iequals(d.name, "s-maxage")) {
      set_lifetime(into.s_maxage, d);
    } else if (core::iequals(d.name, "stale-while-revalidate")) {
      const std::chrono::seconds seconds = argument_seconds(d).value_or(std::chrono::seconds{0});
      into.stale_while_revalidate =
          into.stale_while_revalidate ? std::min(*into.stale_while_revalidate, seconds) : seconds;
    }
  }
}

CacheControl parse_cache_control(std::string_view value) noexcept {
  CacheControl cc;
  merge_cache_control(cc, value);
  return cc;
}

CacheControl parse_cache_control(const core::Headers& headers) noexcept {
  CacheControl cc;
  for (const core::Header& header : headers) {
    if (core::iequals(header.name, "cache-control")) merge_cache_control(cc, header.value);
  }
  return cc;
}

}  // namespace levee::layers::cache
