#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace levee::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr std::uint32_t response_header_limit = 1u << 20;
constexpr std::uint64_t response_body_limit = 1ull << 30;
constexpr std::size_t described_body_bytes = 512;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y && std::tolower(x) != std::tolower(y)) return false;
  }
  return true;
}

bool has_field(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return true;
  }
  return false;
}

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// Beast's SyncReadStream over a blocking socket, where every read waits at most until one
// deadline for the whole response (a per-recv timeout would let a trickling peer stall a
// test forever).
class DeadlineStream {
 public:
  DeadlineStream(int fd, Clock::time_point deadline) : fd_(fd), deadline_(deadline) {}

  template <typename MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, error_code& ec) {
    ec = {};
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers);
         ++it) {
      const net::mutable_buffer buffer = *it;
      if (buffer.size() != 0) return read_into(buffer.data(), buffer.size(), ec);
    }
    return 0;
  }

  template <typename MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  std::size_t read_into(void* data, std::size_t size, error_code& ec) {
    for (;;) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now());
      if (left.count() <= 0) {
        ec = net::error::timed_out;
        return 0;
      }
      pollfd pfd{fd_, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) continue;  // the deadline check above reports it
      const ssize_t n = ::recv(fd_, data, size, 0);
      if (n > 0) return static_cast<std::size_t>(n);
      if (n == 0) {
        ec = net::error::eof;
        return 0;
      }
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      ec = error_code(errno, boost::system::system_category());
      return 0;
    }
  }

  int fd_;
  Clock::time_point deadline_;
};

std::string read_error_text(const error_code& ec, std::chrono::milliseconds timeout) {
  if (ec == net::error::timed_out) {
    return "timeout: no complete response within " + std::to_string(timeout.count()) + "ms";
  }
  if (ec == http::error::end_of_stream) return "connection closed before a response";
  if (ec == http::error::partial_message) return "connection closed in the middle of a response";
  if (ec == net::error::connection_reset) return "connection reset by peer";
  return ec.message();
}

void set_send_timeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

std::optional<std::string> HttpResult::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResult::header_values(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) values.push_back(value);
  }
  return values;
}

std::string describe(const HttpResult& result) {
  if (!result.ok) return "error: " + result.error;
  std::string text = "HTTP " + std::to_string(result.status) + " (" +
                     std::to_string(result.body.size()) + " bytes body";
  text += result.chunked ? ", chunked)" : ")";
  if (!result.body.empty()) {
    text += ": ";
    text += result.body.substr(0, described_body_bytes);
    if (result.body.size() > described_body_bytes) text += "[...]";
  }
  return text;
}

std::ostream& operator<<(std::ostream& out, const HttpResult& result) {
  return out << describe(result);
}

std::string format_request(std::uint16_t port, std::string_view method, std::string_view target,
                           const HeaderList& headers, std::string_view body) {
  std::string out;
  out.reserve(128 + target.size() + body.size());
  out += method;
  out += ' ';
  out += target;
  out += " HTTP/1.1\r\n";
  if (!has_field(headers, "Host")) out += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  for (const auto& [name, value] : headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  const bool body_method = method == "POST" || method == "PUT" || method == "PATCH";
  if ((!body.empty() || body_method) && !has_field(headers, "Content-Length") &&
      !has_field(headers, "Transfer-Encoding")) {
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  out += "\r\n";
  out += body;
  return out;
}

struct HttpConnection::State {
  int fd = -1;
  std::uint16_t port = 0;
  std::chrono::milliseconds timeout{default_http_timeout};
  beast::flat_buffer buffer;  // bytes read past the last response
};

HttpConnection::HttpConnection(std::uint16_t port, std::chrono::milliseconds timeout)
    : state_(std::make_unique<State>()) {
  state_->port = port;
  state_->timeout = timeout;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = 0;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int error = errno;
    ::close(fd);
    throw std::runtime_error("connect 127.0.0.1:" + std::to_string(port) + ": " +
                             std::strerror(error));
  }
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  set_send_timeout(fd, timeout);
  state_->fd = fd;
}

HttpConnection::~HttpConnection() {
  if (state_) close();
}

HttpConnection::HttpConnection(HttpConnection&&) noexcept = default;

HttpConnection& HttpConnection::operator=(HttpConnection&& other) noexcept {
  if (this != &other) {
    if (state_) close();
    state_ = std::move(other.state_);
  }
  return *this;
}

bool HttpConnection::send_raw(std::string_view bytes) {
  while (!bytes.empty()) {
    if (state_->fd < 0) return false;
    const ssize_t n = ::send(state_->fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

HttpResult HttpConnection::read_response(bool head_request) {
  const auto start = Clock::now();
  HttpResult result;
  if (state_->fd < 0) {
    result.error = "connection is closed";
    return result;
  }
  DeadlineStream stream(state_->fd, start + state_->timeout);
  for (;;) {
    http::response_parser<http::string_body> parser;
    parser.header_limit(response_header_limit);
    parser.body_limit(response_body_limit);
    if (head_request) parser.skip(true);
    error_code ec;
    http::read(stream, state_->buffer, parser, ec);
    if (ec) {
      result.error = read_error_text(ec, state_->timeout);
      result.elapsed = since(start);
      return result;
    }
    const auto& message = parser.get();
    const int status = message.result_int();
    if (status >= 100 && status < 200 && status != 101) continue;  // interim, e.g. 100 Continue

    result.ok = true;
    result.status = status;
    result.version = message.version();
    for (const auto& field : message.base()) {
      result.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    result.chunked = parser.chunked();
    result.keep_alive = parser.keep_alive();
    result.body = message.body();
    result.elapsed = since(start);
    return result;
  }
}

HttpResult HttpConnection::request(std::string_view method, std::string_view target,
                                   const HeaderList& headers, std::string_view body) {
  const auto start = Clock::now();
  const bool sent = send_raw(format_request(state_->port, method, target, headers, body));
  // Read even after a failed send: the peer may have answered (413, 431) before closing.
  HttpResult result = read_response(iequals(method, "HEAD"));
  if (!result.ok && !sent) result.error = "send failed (" + result.error + ")";
  result.elapsed = since(start);
  return result;
}

bool HttpConnection::closed_by_peer(std::chrono::milliseconds within) {
  if (state_->fd < 0) return true;
  if (state_->buffer.size() != 0) return false;
  pollfd pfd{state_->fd, static_cast<short>(POLLIN | POLLRDHUP), 0};
  const auto deadline = Clock::now() + within;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::max<long long>(0, left.count())));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    break;
  }
  char byte = 0;
  const ssize_t n = ::recv(state_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  if (n < 0) return errno == ECONNRESET || errno == EPIPE || errno == ENOTCONN;
  return false;
}

void HttpConnection::set_timeout(std::chrono::milliseconds timeout) {
  state_->timeout = timeout;
  if (state_->fd >= 0) set_send_timeout(state_->fd, timeout);
}

void HttpConnection::shutdown_write() {
  if (state_->fd >= 0) ::shutdown(state_->fd, SHUT_WR);
}

void HttpConnection::close() {
  if (state_->fd >= 0) ::close(state_->fd);
  state_->fd = -1;
  state_->buffer.clear();
}

std::uint16_t HttpConnection::port() const noexcept { return state_->port; }

int HttpConnection::native_handle() const noexcept { return state_->fd; }

HttpResult http_request(std::uint16_t port, std::string_view method, std::string_view target,
                        const HeaderList& headers, std::string_view body,
                        std::chrono::milliseconds timeout) {
  try {
    HttpConnection connection(port, timeout);
    return connection.request(method, target, headers, body);
  } catch (const std::exception& e) {
    HttpResult result;
    result.error = e.what();
    return result;
  }
}

HttpResult http_get(std::uint16_t port, std::string_view target, const HeaderList& headers) {
  return http_request(port, "GET", target, headers);
}

HttpResult http_post(std::uint16_t port, std::string_view target, std::string_view body,
                     const HeaderList& headers) {
  return http_request(port, "POST", target, headers, body);
}

}  // namespace levee::testing
