#pragma once
// What the first bytes a client sends say about its protocol, seen by a peek before anything
// is read (server/connection_start.hpp): a TLS record starts with the handshake content type
// 0x16, an HTTP/2 client with prior knowledge starts with the preface "PRI * HTTP/2.0\r\n..."
// (RFC 9113 3.4), and anything else is taken for HTTP/1.x, whose parser answers what it cannot
// read with 400.

#include <cstddef>
#include <string_view>

namespace levee::server {

enum class FirstBytes {
  undecided,    // too few bytes yet: nothing, or a prefix of "PRI "
  tls,          // a TLS handshake record
  h2c_preface,  // the HTTP/2 connection preface
  http1,
};

// Enough bytes to tell every kind apart.
inline constexpr std::size_t k_first_bytes_needed = 4;

[[nodiscard]] FirstBytes classify_first_bytes(std::string_view peeked) noexcept;

}  // namespace levee::server
