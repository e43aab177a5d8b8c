#include "config/resolve.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cctype>
#include <optional>
#include <string_view>

namespace levee::config {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

bool ends_with_label(std::string_view host, std::string_view label) {
  if (host.ends_with('.')) host.remove_suffix(1);
  if (host.size() < label.size() + 1 || host[host.size() - label.size() - 1] != '.') return false;
  const std::string_view last = host.substr(host.size() - label.size());
  return std::equal(last.begin(), last.end(), label.begin(), label.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
}

// Names getaddrinfo would send to a nameserver although no answer can exist (glibc asks DNS
// even for these), answered here so that such a mistake is found without one, and quickly.
std::optional<std::string> impossible_name(const std::string& host) {
  if (ends_with_label(host, "invalid")) return "Host not found (.invalid is reserved, RFC 6761)";
  if (host.find(':') != std::string::npos) return std::nullopt;
  in_addr ignored{};
  // inet_aton, as getaddrinfo: it also takes forms such as "127.1".
  if (::inet_aton(host.c_str(), &ignored) != 0) return std::nullopt;
  std::string_view last(host);
  if (last.ends_with('.')) last.remove_suffix(1);
  last = last.substr(last.rfind('.') == std::string_view::npos ? 0 : last.rfind('.') + 1);
  if (!last.empty() && std::all_of(last.begin(), last.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
      })) {
    return "Host not found (not an IPv4 address, and no domain name ends in a number)";
  }
  return std::nullopt;
}

}  // namespace

core::Result<std::vector<tcp::endpoint>, std::string> resolve(const Endpoint& endpoint) {
  if (auto problem = impossible_name(endpoint.host)) return core::unexpected(std::move(*problem));
  asio::io_context io;
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  const auto results = resolver.resolve(endpoint.host, std::to_string(endpoint.port),
                                        tcp::resolver::numeric_service, ec);
  if (ec) return core::unexpected(ec.message());
  if (results.empty()) return core::unexpected(std::string("the name has no address"));
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  return endpoints;
}

}  // namespace levee::config
