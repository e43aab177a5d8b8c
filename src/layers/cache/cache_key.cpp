#include "layers/cache/cache_key.hpp"

#include <xxhash.h>

#include <algorithm>

#include "core/headers.hpp"

namespace levee::layers::cache {
namespace {

void append_part(std::string& out, std::string_view part) {
  out += std::to_string(part.size());
  out += ':';
  out += part;
}

void append_hex(std::string& out, const XXH128_hash_t& hash) {
  static constexpr char k_digits[] = "0123456789abcdef";
  for (const std::uint64_t word : {hash.high64, hash.low64}) {
    for (int shift = 60; shift >= 0; shift -= 4) out += k_digits[(word >> shift) & 0xf];
  }
}

// "<tag>:<len>:<host><rest>" when short, else "<tag>#<hash of the same text>".
std::string bounded(std::string_view tag, std::string_view host, std::string_view rest) {
  std::string text;
  text.reserve(k_key_prefix.size() + tag.size() + host.size() + rest.size() + 24);
  text += k_key_prefix;
  text += tag;
  if (host.size() + rest.size() <= k_max_plain_key_part) {
    text += ':';
    append_part(text, host);
    text += rest;
    return text;
  }
  std::string identity;
  identity.reserve(host.size() + rest.size() + 24);
  append_part(identity, host);
  identity += rest;
  text += '#';
  append_hex(text, XXH3_128bits(identity.data(), identity.size()));
  return text;
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

}  // namespace

std::string key_host(const core::Request& request) {
  const std::string* host = request.headers.find("host");
  return host != nullptr ? core::to_lower(*host) : std::string{};
}

std::string path_key(std::string_view host, std::string_view path) {
  return bounded("p", core::to_lower(host), path);
}

CacheKey primary_key(const core::Request& request) {
  const std::string host = key_host(request);
  CacheKey key;
  if (request.method == "GET" || request.method == "HEAD") {
    key.primary = bounded("g", host, request.target);
  } else {
    // Never stored (decide_storage refuses them); kept apart from GET all the same.
    std::string tag = "m";
    append_part(tag, request.method);
    key.primary = bounded(tag, host, request.target);
  }
  key.path = path_key(host, request.path());
  return key;
}

CacheKey grpc_call_key(const core::Request& request) {
  const std::string host = key_host(request);
  std::string rest;
  rest.reserve(request.target.size() + 48);
  append_part(rest, request.target);
  std::string identity;
  identity.reserve(request.body.size() + 32);
  append_part(identity, request.body);
  std::size_t credentials = 0;
  for (const core::Header& header : request.headers) {
    if (!core::iequals(header.name, "authorization")) continue;
    ++credentials;
    append_part(identity, header.value);
  }
  identity += '#';
  identity += std::to_string(credentials);
  rest += '#';
  append_hex(rest, XXH3_128bits(identity.data(), identity.size()));
  CacheKey key;
  key.primary = bounded("c", host, rest);
  key.path = path_key(host, request.path());
  return key;
}

std::string variant_key(std::string_view primary, std::span<const std::string> vary,
                        const core::Request& request) {
  if (vary.empty()) return std::string(primary);
  std::string identity;
  for (const std::string& name : vary) {
    append_part(identity, name);
    std::size_t count = 0;
    for (const core::Header& header : request.headers) {
      if (!core::iequals(header.name, name)) continue;
      ++count;
      append_part(identity, header.value);
    }
    // How many fields there were: "absent" differs from "present and empty".
    identity += '#';
    identity += std::to_string(count);
    identity += ';';
  }
  std::string out;
  out.reserve(primary.size() + 34);
  out += primary;
  out += "|v";
  append_hex(out, XXH3_128bits(identity.data(), identity.size()));
  return out;
}

VaryNames parse_vary(const core::Headers& headers) {
  VaryNames vary;
  for (const core::Header& header : headers) {
    if (!core::iequals(header.name, "vary")) continue;
    std::string_view value = header.value;
    while (!value.empty()) {
      const std::size_t comma = value.find(',');
      std::string_view name = value.substr(0, comma);
      value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
      while (!name.empty() && is_space(name.front())) name.remove_prefix(1);
      while (!name.empty() && is_space(name.back())) name.remove_suffix(1);
      if (name.empty()) continue;
      if (name == "*") {
        vary.star = true;
        continue;
      }
      if (vary.names.size() > k_max_vary_names) {
        vary.star = true;
        continue;
      }
      vary.names.push_back(core::to_lower(name));
    }
  }
  std::sort(vary.names.begin(), vary.names.end());
  vary.names.erase(std::unique(vary.names.begin(), vary.names.end()), vary.names.end());
  if (vary.names.size() > k_max_vary_names) vary.star = true;
  return vary;
}

}  // namespace levee::layers::cache
