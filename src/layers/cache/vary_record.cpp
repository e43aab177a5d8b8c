#include "layers/cache/vary_record.hpp"

#include <algorithm>

#include "layers/cache/cache_key.hpp"

namespace levee::layers::cache {

namespace {

constexpr std::size_t k_max_name_bytes = 64;

// RFC 9110 5.6.2 tchar, lower case only: names are stored lower-cased.
bool is_lower_token(std::string_view name) noexcept {
  if (name.empty() || name.size() > k_max_name_bytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

}  // namespace

std::string encode_vary_record(const std::vector<std::string>& names) {
  std::string out(k_vary_record_magic);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += '\n';
    out += names[i];
  }
  return out;
}

bool is_vary_record(std::string_view bytes) noexcept {
  return bytes.starts_with(k_vary_record_magic);
}

std::optional<std::vector<std::string>> parse_vary_record(std::string_view bytes) {
  if (!is_vary_record(bytes)) return std::nullopt;
  bytes.remove_prefix(k_vary_record_magic.size());
  std::vector<std::string> names;
  while (!bytes.empty()) {
    const auto end = bytes.find('\n');
    const std::string_view name = bytes.substr(0, end);
    if (!is_lower_token(name) || names.size() >= k_max_vary_names) return std::nullopt;
    if (!names.empty() && !(names.back() < name)) return std::nullopt;  // sorted and unique
    names.emplace_back(name);
    if (end == std::string_view::npos) break;
    bytes.remove_prefix(end + 1);
    if (bytes.empty()) return std::nullopt;  // a trailing separator
  }
  if (names.empty()) return std::nullopt;
  return names;
}

}  // namespace levee::layers::cache
