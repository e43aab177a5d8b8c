#pragma once
// A blocking HTTP/1.1 client for integration tests, over plain POSIX sockets to 127.0.0.1.
// Every wait is bounded (the connection's timeout, 10 s by default), so a test never hangs:
// a response that does not arrive in time comes back as an error result, not as a block.
// Responses are parsed by Beast's response_parser: Content-Length, chunked, and bodies that
// end at connection close; 1xx interim responses are skipped. Bytes that follow a response
// on the connection stay buffered for the next read_response() (pipelining).
// One thread per connection; nothing here is thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace levee::testing {

// Ordered, duplicates allowed (two Set-Cookie fields stay two).
using HeaderList = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::chrono::milliseconds default_http_timeout{10000};

struct HttpResult {
  bool ok = false;    // a complete response was read
  std::string error;  // why not, when !ok ("timeout", "connection closed", parse error, ...)
  int status = 0;
  unsigned version = 11;
  HeaderList headers;
  std::string body;
  bool chunked = false;     // the body came with Transfer-Encoding: chunked
  bool keep_alive = false;  // the connection may carry another request (Beast's reading)
  std::chrono::milliseconds elapsed{0};  // from the start of the read (or request) to the end

  // Names compare case-insensitively. header(): the first field of that name.
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
  [[nodiscard]] std::vector<std::string> header_values(std::string_view name) const;
  [[nodiscard]] bool has_header(std::string_view name) const { return header(name).has_value(); }
};

// "200 (ok, 12 bytes body)" or "error: timeout": for assertion messages.
[[nodiscard]] std::string describe(const HttpResult& result);
std::ostream& operator<<(std::ostream& out, const HttpResult& result);

// A complete HTTP/1.1 request. Adds "Host: 127.0.0.1:<port>" unless `headers` has a Host, and
// Content-Length when there is a body (or the method is POST/PUT/PATCH) unless `headers` has
// Content-Length or Transfer-Encoding.
[[nodiscard]] std::string format_request(std::uint16_t port, std::string_view method,
                                         std::string_view target, const HeaderList& headers = {},
                                         std::string_view body = {});

class HttpConnection {
 public:
  // Connects to 127.0.0.1:port; throws std::runtime_error when that fails.
  explicit HttpConnection(std::uint16_t port,
                          std::chrono::milliseconds timeout = default_http_timeout);
  ~HttpConnection();
  HttpConnection(HttpConnection&&) noexcept;
  HttpConnection& operator=(HttpConnection&&) noexcept;

  // Writes all of `bytes`. False when the peer is gone (a later read_response says more).
  bool send_raw(std::string_view bytes);
  // Reads one response. `head_request`: the response to a HEAD has no body whatever its
  // Content-Length says.
  [[nodiscard]] HttpResult read_response(bool head_request = false);
  // format_request() + send_raw() + read_response().
  [[nodiscard]] HttpResult request(std::string_view method, std::string_view target,
                                   const HeaderList& headers = {}, std::string_view body = {});

  // True if the peer closes (or resets) the connection within `within`; false if it stays
  // open or sends data instead.
  [[nodiscard]] bool closed_by_peer(std::chrono::milliseconds within);

  void set_timeout(std::chrono::milliseconds timeout);
  void shutdown_write();  // half-close: the peer reads EOF, we can still read
  void close();           // also resets pending bytes; idempotent
  [[nodiscard]] std::uint16_t port() const noexcept;
  [[nodiscard]] int native_handle() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// One request on a fresh connection. Never throws: failures come back as !ok.
[[nodiscard]] HttpResult http_request(std::uint16_t port, std::string_view method,
                                      std::string_view target, const HeaderList& headers = {},
                                      std::string_view body = {},
                                      std::chrono::milliseconds timeout = default_http_timeout);
[[nodiscard]] HttpResult http_get(std::uint16_t port, std::string_view target,
                                  const HeaderList& headers = {});
[[nodiscard]] HttpResult http_post(std::uint16_t port, std::string_view target,
                                   std::string_view body, const HeaderList& headers = {});

}  // namespace levee::testing
