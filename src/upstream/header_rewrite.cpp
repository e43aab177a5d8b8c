#include "upstream/header_rewrite.hpp"

#include <array>
#include <string>
#include <vector>

namespace levee::upstream {

namespace {

constexpr std::array<std::string_view, 9> k_hop_by_hop = {
    "Connection", "Keep-Alive",         "Proxy-Connection",   "TE", "Trailer", "Transfer-Encoding",
    "Upgrade",    "Proxy-Authenticate", "Proxy-Authorization"};

// RFC 9110 6.5.1 and 6.5.2: fields a recipient must not act on, or a sender must not
// generate, in a trailer section, beyond the hop-by-hop ones above (which include the framing
// fields Transfer-Encoding, Trailer and TE); plus what identifies the client to the upstream.
constexpr std::array<std::string_view, 24> k_not_in_trailers = {"Host",
                                                                "Content-Length",
                                                                "Content-Encoding",
                                                                "Content-Type",
                                                                "Content-Range",
                                                                "Authorization",
                                                                "Cookie",
                                                                "Set-Cookie",
                                                                "Cache-Control",
                                                                "Expect",
                                                                "Max-Forwards",
                                                                "Pragma",
                                                                "Range",
                                                                "If-Match",
                                                                "If-None-Match",
                                                                "If-Modified-Since",
                                                                "If-Range",
                                                                "If-Unmodified-Since",
                                                                "Age",
                                                                "Expires",
                                                                "Forwarded",
                                                                "X-Forwarded-For",
                                                                "X-Forwarded-Proto",
                                                                "Via"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::size_t strip_hop_by_hop_count(core::Headers& headers) {
  // The Connection header may name further hop-by-hop fields; collect them before removing
  // Connection itself. It may also appear more than once.
  std::vector<std::string> named;
  for (const auto& h : headers) {
    if (!core::iequals(h.name, "Connection")) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto token = trim(rest.substr(0, comma));
      if (!token.empty()) named.emplace_back(token);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  // One pass over the fields: this runs twice per proxied request.
  return headers.remove_if([&](const core::Header& h) {
    for (auto name : k_hop_by_hop) {
      if (core::iequals(h.name, name)) return true;
    }
    for (const auto& name : named) {
      if (core::iequals(h.name, name)) return true;
    }
    return false;
  });
}

}  // namespace

void strip_hop_by_hop(core::Headers& headers) { (void)strip_hop_by_hop_count(headers); }

std::size_t strip_forbidden_trailers(core::Headers& trailers) {
  std::size_t removed = strip_hop_by_hop_count(trailers);
  removed += trailers.remove_if([](const core::Header& h) {
    for (auto name : k_not_in_trailers) {
      if (core::iequals(h.name, name)) return true;
    }
    return false;
  });
  return removed;
}

void add_forwarding_headers(core::Headers& headers, std::string_view client_address,
                            std::string_view proto) {
  if (!client_address.empty()) {
    // Several X-Forwarded-For fields are one list (RFC 9110 5.3); keep every earlier hop.
    std::string forwarded;
    for (const auto& h : headers) {
      if (!core::iequals(h.name, "X-Forwarded-For")) continue;
      forwarded += h.value;
      forwarded += ", ";
    }
    forwarded += client_address;
    headers.set("X-Forwarded-For", forwarded);
  }
  headers.set("X-Forwarded-Proto", proto);
  append_via(headers, "1.1");
}

void append_via(core::Headers& headers, std::string_view version) {
  std::string via;
  for (const auto& h : headers) {
    if (!core::iequals(h.name, "Via")) continue;
    via += h.value;
    via += ", ";
  }
  via += version;
  via += " levee";
  headers.set("Via", via);
}

}  // namespace levee::upstream
