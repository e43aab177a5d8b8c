#pragma once
// The stream type of a client connection over TLS, named without including Asio's SSL headers
// (the few files that use it include <boost/asio/ssl/stream.hpp> themselves).

#include <boost/asio/ip/tcp.hpp>

namespace boost::asio::ssl {
template <typename Stream>
class stream;
}  // namespace boost::asio::ssl

namespace levee::server {

using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

}  // namespace levee::server
