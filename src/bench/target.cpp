#include "bench/target.hpp"

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <stdexcept>

namespace levee::bench {

Target parse_target(std::string_view url) {
  const std::string shown(url);
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) {
    throw std::invalid_argument("target " + shown + ": only http:// URLs are supported");
  }
  std::string_view rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  Target target;
  target.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));

  std::string_view host;
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      throw std::invalid_argument("target " + shown + ": unterminated [ in the address");
    }
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) throw std::invalid_argument("target " + shown + ": bad port");
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (!port.empty()) {
    unsigned value = 0;
    const auto result = std::from_chars(port.data(), port.data() + port.size(), value);
    if (result.ec != std::errc{} || result.ptr != port.data() + port.size() || value == 0 ||
        value > 65535) {
      throw std::invalid_argument("target " + shown + ": bad port '" + std::string(port) + "'");
    }
    target.port = static_cast<std::uint16_t>(value);
  }
  if (host == "localhost") host = "127.0.0.1";

  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) {
    throw std::invalid_argument("target " + shown +
                                ": the host must be an IP address on the loopback network "
                                "(127.0.0.0/8 or ::1), not a name");
  }
  if (!address.is_loopback()) {
    throw std::invalid_argument("target " + shown + ": " + address.to_string() +
                                " is not a loopback address; levee-bench sends traffic to "
                                "127.0.0.0/8 and ::1 only");
  }
  target.address = address.to_string();
  const std::string port_text = std::to_string(target.port);
  target.authority =
      address.is_v6() ? "[" + target.address + "]:" + port_text : target.address + ":" + port_text;
  return target;
}

}  // namespace levee::bench
