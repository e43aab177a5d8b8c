#include "mock_upstream/options.hpp"

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <stdexcept>
#include <string>

#include "config/units.hpp"

namespace levee::mock_upstream {

bool is_loopback_literal(std::string_view host) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return false;
  if (address.is_v4()) return (address.to_v4().to_uint() >> 24) == 127;
  return address.to_v6() == boost::asio::ip::address_v6::loopback();
}

ListenAddress parse_listen(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    throw std::invalid_argument("--listen must be HOST:PORT, got '" + std::string(text) + "'");
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }

  unsigned port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    throw std::invalid_argument("--listen: bad port '" + std::string(port_text) + "'");
  }

  ListenAddress listen{std::string(host), static_cast<std::uint16_t>(port)};
  if (listen.host == "localhost") listen.host = "127.0.0.1";
  if (!is_loopback_literal(listen.host)) {
    throw std::invalid_argument("refusing to listen on '" + std::string(text) +
                                "': levee-upstream binds only 127.0.0.0/8 or ::1");
  }
  return listen;
}

Duration parse_duration(std::string_view text) {
  const auto duration = config::parse_duration(text);
  if (!duration) {
    throw std::invalid_argument("bad duration '" + std::string(text) +
                                "' (expected e.g. 50ms, 1.5s, 250us, 0)");
  }
  return *duration;
}

void validate(const Options& options) {
  if (!(options.error_rate >= 0.0 && options.error_rate <= 1.0)) {
    throw std::invalid_argument("--error-rate must be within [0, 1]");
  }
  if (options.workers == 0 || options.workers > 256) {
    throw std::invalid_argument("--workers must be within [1, 256]");
  }
  if (options.release_every < Duration::zero() ||
      options.release_every > std::chrono::seconds(10)) {
    throw std::invalid_argument("--release-every must be within [0, 10s]");
  }
  if (!is_loopback_literal(options.listen.host)) {
    throw std::invalid_argument("refusing to listen on '" + options.listen.host +
                                "': levee-upstream binds only 127.0.0.0/8 or ::1");
  }
}

}  // namespace levee::mock_upstream
