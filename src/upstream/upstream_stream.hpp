#pragma once
// The byte stream of one upstream connection: the TCP socket itself, or TLS over it. An Asio
// AsyncReadStream and AsyncWriteStream (Beast's parser and asio::async_write take it), which
// forwards each operation to whichever of the two the connection uses, so that one exchange
// serves http1 and https upstreams alike.
//
// Does not own the socket: the connection that holds both outlives every operation. The TLS
// stream is set after the handshake (tls_handshake.hpp) and never changes afterwards.
// Cancelling the socket's operations (a deadline) cancels a TLS operation over it too.

#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <utility>

namespace levee::upstream {

using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;

class UpstreamStream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;

  explicit UpstreamStream(boost::asio::ip::tcp::socket& socket) : socket_(&socket) {}

  [[nodiscard]] executor_type get_executor() noexcept { return socket_->get_executor(); }
  [[nodiscard]] boost::asio::ip::tcp::socket& socket() noexcept { return *socket_; }
  [[nodiscard]] TlsStream* tls() noexcept { return tls_.get(); }
  // Every later operation goes through `tls`, whose handshake has completed.
  void use_tls(std::unique_ptr<TlsStream> tls) noexcept { tls_ = std::move(tls); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& to) {
          if (tls_) {
            tls_->async_read_some(to, std::move(handler));
          } else {
            socket_->async_read_some(to, std::move(handler));
          }
        },
        token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& from) {
          if (tls_) {
            tls_->async_write_some(from, std::move(handler));
          } else {
            socket_->async_write_some(from, std::move(handler));
          }
        },
        token, buffers);
  }

 private:
  boost::asio::ip::tcp::socket* socket_;
  std::unique_ptr<TlsStream> tls_;
};

}  // namespace levee::upstream
