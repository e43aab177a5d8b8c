#include "server/first_bytes.hpp"

namespace levee::server {

namespace {

constexpr char k_tls_handshake_record = 0x16;
// "PRI " is enough: no HTTP/1 method is PRI, and RFC 9113 3.4 reserves it for the preface.
constexpr std::string_view k_preface_start = "PRI ";

}  // namespace

FirstBytes classify_first_bytes(std::string_view peeked) noexcept {
  if (peeked.empty()) return FirstBytes::undecided;
  if (peeked.front() == k_tls_handshake_record) return FirstBytes::tls;
  if (peeked.size() < k_preface_start.size()) {
    return k_preface_start.starts_with(peeked) ? FirstBytes::undecided : FirstBytes::http1;
  }
  return peeked.starts_with(k_preface_start) ? FirstBytes::h2c_preface : FirstBytes::http1;
}

}  // namespace levee::server
