#pragma once
// Header rules for a message crossing the proxy (RFC 9110 7.6): hop-by-hop fields stay on
// their own connection, and a forwarded request says where it came from. Pure functions on
// core::Headers; no I/O.

#include <cstddef>
#include <string_view>

#include "core/headers.hpp"

namespace levee::upstream {

// Removes the fixed hop-by-hop fields (Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
// Transfer-Encoding, Upgrade, Proxy-Authenticate, Proxy-Authorization) and every field that
// the message's Connection header names.
void strip_hop_by_hop(core::Headers& headers);

// Appends the client address to X-Forwarded-For (keeping what earlier proxies wrote), sets
// X-Forwarded-Proto and appends "1.1 levee" to Via.
void add_forwarding_headers(core::Headers& headers, std::string_view client_address,
                            std::string_view proto);

// Removes from a trailer section every field that RFC 9110 6.5.1 keeps out of trailers
// (framing, routing, authentication, request modifiers, content description), the hop-by-hop
// fields, and the forwarding fields levee itself writes: what is left cannot change how the
// upstream frames, routes, authorises or attributes the request. Returns how many were removed.
std::size_t strip_forbidden_trailers(core::Headers& trailers);

// Appends "<version> levee" to Via; version is "1.1" or "1.0".
void append_via(core::Headers& headers, std::string_view version);

}  // namespace levee::upstream
