#include "mock_upstream/server.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <optional>
#include <random>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "core/json_string.hpp"
#include "layers/batch/debug_header.hpp"
#include "mock_upstream/processing.hpp"
#include "mock_upstream/stats.hpp"

namespace levee::mock_upstream {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using HttpRequest = http::request<http::string_body>;
using Clock = std::chrono::steady_clock;

constexpr auto nothrow = net::as_tuple(net::use_awaitable);
constexpr std::uint32_t header_limit = 64 * 1024;
constexpr std::uint64_t body_limit = 16ull * 1024 * 1024;
constexpr unsigned max_slow_ms = 60000;
constexpr auto linger_time = std::chrono::seconds(1);
constexpr auto accept_retry_delay = std::chrono::milliseconds(50);

struct Shared {
  Options options;
  Stats stats;
};

// What route() decided; the session writes it after `delay`.
struct Reply {
  int status = 200;
  std::string body;
  std::string extra_headers;        // complete "Name: value\r\n" lines
  std::vector<std::string> chunks;  // non-empty: sent with chunked transfer-encoding
  bool has_body = true;             // false for 204/304: neither body nor Content-Length
  std::string_view content_type = "application/json";  // static storage
  bool close = false;
  Duration delay{0};
};

Reply json_reply(int status, std::string body) {
  Reply reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

Reply error_reply(int status, std::string_view message) {
  std::string body = "{\"error\":";
  core::append_json_string(body, message);
  body += '}';
  return json_reply(status, std::move(body));
}

Reply method_not_allowed(std::string_view allow) {
  Reply reply = error_reply(405, "method not allowed");
  reply.extra_headers = "Allow: " + std::string(allow) + "\r\n";
  return reply;
}

// xorshift64*: jitter and error injection need cheap numbers, not good ones.
std::uint64_t next_random() noexcept {
  thread_local std::uint64_t state = [] {
    std::uint64_t seed =
        (static_cast<std::uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
    return seed | 1;
  }();
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1Dull;
}

double uniform_unit() noexcept { return static_cast<double>(next_random() >> 11) * 0x1.0p-53; }

Duration jittered(Duration base, Duration jitter) noexcept {
  if (jitter <= Duration::zero()) return base;
  const auto span = static_cast<std::uint64_t>(jitter.count()) + 1;
  return base + Duration(static_cast<Duration::rep>(next_random() % span));
}

constexpr unsigned k_max_pad_bytes = 32u * 1024 * 1024;

std::optional<unsigned> parse_unsigned(std::string_view text) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || text.empty()) return {};
  return value;
}

std::string_view query_parameter(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

void append_optional_header(std::string& out, const HttpRequest& request, http::field field) {
  const auto it = request.find(field);
  if (it == request.end()) {
    out += "null";
  } else {
    core::append_json_string(out, it->value());
  }
}

std::string echo_body(const HttpRequest& request, std::string_view path, std::string_view query,
                      std::uint64_t hits) {
  std::string out;
  out.reserve(512 + request.body().size());
  out += "{\"method\":";
  core::append_json_string(out, request.method_string());
  out += ",\"path\":";
  core::append_json_string(out, path);
  out += ",\"query\":";
  core::append_json_string(out, query);
  out += ",\"authorization\":";
  append_optional_header(out, request, http::field::authorization);
  out += ",\"host\":";
  append_optional_header(out, request, http::field::host);
  out += ",\"body\":";
  core::append_json_string(out, request.body());
  out += ",\"hits\":";
  out += std::to_string(hits);

  // Lower-cased names in first-seen order; repeated fields joined as RFC 9110 5.3 allows.
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& field : request.base()) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&name](const auto& entry) { return entry.first == name; });
    if (it == fields.end()) {
      fields.emplace_back(std::move(name), std::string(field.value()));
    } else {
      it->second += ", ";
      it->second += field.value();
    }
  }
  out += ",\"headers\":{";
  bool first = true;
  for (const auto& [name, value] : fields) {
    if (!first) out += ',';
    first = false;
    core::append_json_string(out, name);
    out += ':';
    core::append_json_string(out, value);
  }
  out += "}}";
  return out;
}

Reply api_reply(const HttpRequest& request, std::string_view path, std::string_view query,
                std::uint64_t hits, const Options& options) {
  switch (request.method()) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::post:
    case http::verb::put:
    case http::verb::delete_:
      break;
    default:
      return method_not_allowed("GET, HEAD, POST, PUT, DELETE");
  }
  Reply reply = options.error_rate > 0.0 && uniform_unit() < options.error_rate
                    ? json_reply(500, "{\"error\":\"injected\"}")
                    : json_reply(200, echo_body(request, path, query, hits));
  // For the cache's tests: ?cache_control=VALUE is sent back as Cache-Control ('+' for ' ').
  if (std::string value(query_parameter(query, "cache_control")); !value.empty()) {
    const bool safe = std::all_of(value.begin(), value.end(), [](unsigned char c) {
      return std::isalnum(c) || c == '=' || c == ',' || c == '-' || c == '_' || c == '+';
    });
    if (!safe) return error_reply(400, "cache_control may hold only [A-Za-z0-9=,_+-]");
    std::replace(value.begin(), value.end(), '+', ' ');
    reply.extra_headers = "Cache-Control: " + value + "\r\n";
  }
  // ?vary=NAME is sent back as Vary (one header name).
  if (std::string_view name = query_parameter(query, "vary"); !name.empty()) {
    const bool token = std::all_of(name.begin(), name.end(), [](unsigned char c) {
      return std::isalnum(c) || c == '-' || c == '_';
    });
    if (!token) return error_reply(400, "vary may hold only [A-Za-z0-9_-]");
    reply.extra_headers += "Vary: " + std::string(name) + "\r\n";
  }
  // ?pad=N adds a field of N bytes to the echo, for tests of answers larger than a socket's
  // buffers.
  if (std::string_view pad = query_parameter(query, "pad"); !pad.empty()) {
    const auto bytes = parse_unsigned(pad);
    if (!bytes || *bytes > k_max_pad_bytes) {
      return error_reply(400, "pad must be a byte count up to " + std::to_string(k_max_pad_bytes));
    }
    reply.body.pop_back();  // the echo's closing brace
    reply.body.reserve(reply.body.size() + *bytes + 12);
    reply.body.append(",\"pad\":\"").append(*bytes, 'p').append("\"}");
  }
  reply.delay = jittered(options.latency, options.jitter);
  return reply;
}

Reply slow_reply(std::string_view query) {
  const auto ms = parse_unsigned(query_parameter(query, "ms"));
  if (!ms || *ms > max_slow_ms) return error_reply(400, "expected ?ms=N with N <= 60000");
  Reply reply = json_reply(200, "{\"slept_ms\":" + std::to_string(*ms) + "}");
  reply.delay = std::chrono::milliseconds(*ms);
  return reply;
}

Reply status_reply(std::string_view path, const Options& options) {
  const auto code = parse_unsigned(path.substr(std::string_view("/status/").size()));
  if (!code || *code < 200 || *code > 599) return error_reply(400, "expected /status/200..599");
  Reply reply = json_reply(static_cast<int>(*code), "{\"status\":" + std::to_string(*code) + "}");
  if (*code == 204 || *code == 304) {
    reply.body.clear();
    reply.has_body = false;
  }
  reply.delay = jittered(options.latency, options.jitter);
  return reply;
}

// Decides the answer to one request and counts it. Runs on the connection's worker thread
// and never blocks; the wait (latency) is left to the caller, through Reply::delay.
Reply route(const HttpRequest& request, Shared& shared) {
  const std::string_view target = request.target();
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  const Options& options = shared.options;

  if (path == "/__stats") return json_reply(200, shared.stats.to_json());
  if (path == "/__reset") {
    if (request.method() != http::verb::post) return method_not_allowed("POST");
    shared.stats.reset();
    Reply reply = json_reply(204, {});
    reply.has_body = false;
    return reply;
  }

  const Endpoint endpoint = classify_path(path);
  const std::uint64_t hits = shared.stats.record(endpoint, path);
  switch (endpoint) {
    case Endpoint::api:
      return api_reply(request, path, query, hits, options);
    case Endpoint::process:
    case Endpoint::process_batch: {
      if (request.method() != http::verb::post) return method_not_allowed("POST");
      const bool batch = endpoint == Endpoint::process_batch;
      ProcessOutcome outcome =
          batch ? process_batch(request.body(), request[http::field::content_type])
                : process_one(request.body());
      Reply reply = json_reply(outcome.status, std::move(outcome.body));
      reply.content_type = outcome.content_type;
      if (outcome.retry_after_seconds > 0) {
        reply.extra_headers =
            "Retry-After: " + std::to_string(outcome.retry_after_seconds) + "\r\n";
      }
      // Only a rejected request (400) answers at once: an injected failure is still a batch
      // that reached the upstream, so it counts its items and takes the batch latency.
      if (outcome.status != 400) {
        if (batch) shared.stats.add_batch_items(outcome.items);
        reply.delay = jittered(batch ? options.batch_latency : options.latency, options.jitter);
      }
      return reply;
    }
    case Endpoint::slow:
      return slow_reply(query);
    case Endpoint::status:
      return status_reply(path, options);
    case Endpoint::other:
      break;
  }

  if (path == "/set-cookie") {
    Reply reply = json_reply(200, "{\"cookie\":\"session=abc\"}");
    reply.extra_headers = "Set-Cookie: session=abc\r\n";
    reply.delay = jittered(options.latency, options.jitter);
    return reply;
  }
  if (path == "/chunked") {
    Reply reply = json_reply(200, {});
    reply.chunks = {"{\"chunked\":true,", "\"parts\":[\"one\",", "\"two\",", "\"three\"]}"};
    reply.delay = jittered(options.latency, options.jitter);
    return reply;
  }
  if (path == "/close") {
    Reply reply = json_reply(200, "{\"closing\":true}");
    reply.close = true;
    reply.delay = jittered(options.latency, options.jitter);
    return reply;
  }
  return error_reply(404, "not found");
}

std::string_view reason(int status) {
  return http::obsolete_reason(static_cast<http::status>(status));
}

std::string response_head(const Reply& reply, std::size_t content_length, bool chunked,
                          bool keep_alive, unsigned version) {
  std::string head;
  head.reserve(160 + reply.extra_headers.size());
  head += "HTTP/1.1 ";
  head += std::to_string(reply.status);
  head += ' ';
  head += reason(reply.status);
  head += "\r\n";
  if (reply.has_body) {
    head += "Content-Type: ";
    head += reply.content_type;
    head += "\r\n";
    if (chunked) {
      head += "Transfer-Encoding: chunked\r\n";
    } else {
      head += "Content-Length: ";
      head += std::to_string(content_length);
      head += "\r\n";
    }
  }
  head += reply.extra_headers;
  if (!keep_alive) {
    head += "Connection: close\r\n";
  } else if (version == 10) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  return head;
}

std::string chunk_frame(std::string_view data) {
  std::array<char, 16> size{};
  const auto [end, error] = std::to_chars(size.data(), size.data() + size.size(), data.size(), 16);
  std::string frame(size.data(), end);
  frame += "\r\n";
  frame += data;
  frame += "\r\n";
  return frame;
}

// Half-closes and reads what the client still sends for a moment before closing, so that an
// error answer written before the request was fully read is not destroyed by a TCP reset.
net::awaitable<void> drain(tcp::socket* socket) {
  std::array<char, 4096> sink;
  for (;;) {
    auto [ec, n] = co_await socket->async_read_some(net::buffer(sink), nothrow);
    if (ec) co_return;
  }
}

net::awaitable<void> lingering_close(tcp::socket* socket) {
  using namespace net::experimental::awaitable_operators;
  boost::system::error_code ignored;
  socket->shutdown(tcp::socket::shutdown_send, ignored);
  net::steady_timer timer(socket->get_executor(), linger_time);
  co_await (drain(socket) || timer.async_wait(nothrow));
  socket->close(ignored);
}

net::awaitable<bool> write_reply(tcp::socket* socket, Reply reply, bool head_only, bool keep_alive,
                                 unsigned version, bool split_writes = false) {
  // HTTP/1.0 has no chunked encoding: such a client gets the parts as one body.
  const bool chunked = !reply.chunks.empty() && version == 11;
  if (!reply.chunks.empty() && !chunked) {
    for (const auto& chunk : reply.chunks) reply.body += chunk;
  }
  const std::string head = response_head(reply, reply.body.size(), chunked, keep_alive, version);

  if (head_only || !reply.has_body) {
    auto [ec, n] = co_await net::async_write(*socket, net::buffer(head), nothrow);
    co_return !ec;
  }
  if (!chunked && split_writes) {
    if (auto [ec, n] = co_await net::async_write(*socket, net::buffer(head), nothrow); ec) {
      co_return false;
    }
    auto [ec, n] = co_await net::async_write(*socket, net::buffer(reply.body), nothrow);
    co_return !ec;
  }
  if (!chunked) {
    const std::array<net::const_buffer, 2> buffers{net::buffer(head), net::buffer(reply.body)};
    auto [ec, n] = co_await net::async_write(*socket, buffers, nothrow);
    co_return !ec;
  }
  // One write per chunk, so that a client really sees the body arrive in pieces.
  if (auto [ec, n] = co_await net::async_write(*socket, net::buffer(head), nothrow); ec) {
    co_return false;
  }
  for (const auto& chunk : reply.chunks) {
    const std::string frame = chunk_frame(chunk);
    if (auto [ec, n] = co_await net::async_write(*socket, net::buffer(frame), nothrow); ec) {
      co_return false;
    }
  }
  auto [ec, n] =
      co_await net::async_write(*socket, net::buffer(std::string_view("0\r\n\r\n")), nothrow);
  co_return !ec;
}

// --release-every: the first multiple of `every` on the steady clock at or after `due`.
Clock::time_point release_time(Clock::time_point due, Duration every) {
  const auto intervals = (due.time_since_epoch() + every - Duration(1)) / every;
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(intervals * every));
}

// levee's batch debug header for an answer held to `release`. W ends when the first answer
// released at that time woke (one worker thread, one sweep of its timers), not when this one
// did: the answers written before it count as overhead, as a batch's earlier members do in
// levee, and only the hold itself is left out.
std::string release_header(Clock::time_point arrived, Clock::time_point release) {
  struct Release {
    Clock::time_point due;
    Clock::time_point woke;
  };
  thread_local Release last{};
  if (last.due != release) last = {release, Clock::now()};
  std::string line(layers::batch::k_debug_header);
  line += ": ";
  line += layers::batch::debug_header_value(1, last.woke - arrived, {});
  line += "\r\n";
  return line;
}

bool is_malformed_request(const boost::system::error_code& ec) {
  static const auto& http_category = make_error_code(http::error::bad_target).category();
  return ec.category() == http_category && ec != http::error::end_of_stream &&
         ec != http::error::partial_message;
}

// One connection, one request at a time (pipelined requests wait in `buffer`).
// Frame lifetime: co_spawn'ed detached on the worker's io_context, which owns it; `shared`
// belongs to the Server, which outlives every io_context run.
net::awaitable<void> serve_connection(tcp::socket socket, Shared* shared) {
  beast::flat_buffer buffer;
  std::optional<net::steady_timer> timer;  // created on the first delayed answer only
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(body_limit);
    auto [read_error, bytes] = co_await http::async_read(socket, buffer, parser, nothrow);
    if (read_error) {
      Reply reply;
      if (read_error == http::error::body_limit) {
        reply = error_reply(413, "request body larger than 16MiB");
      } else if (read_error == http::error::header_limit) {
        reply = error_reply(431, "request header larger than 64KiB");
      } else if (is_malformed_request(read_error)) {
        reply = error_reply(400, "malformed request: " + read_error.message());
      } else {
        co_return;  // the client went away
      }
      reply.close = true;
      if (co_await write_reply(&socket, std::move(reply), false, false, 11)) {
        co_await lingering_close(&socket);
      }
      co_return;
    }

    const HttpRequest& request = parser.get();
    const auto arrived = Clock::now();
    Reply reply = route(request, *shared);
    const bool keep_alive = request.keep_alive() && !reply.close;
    if (reply.delay > Duration::zero()) {
      if (!timer) timer.emplace(socket.get_executor());
      const Duration every = shared->options.release_every;
      if (every > Duration::zero()) {
        const auto release = release_time(arrived + reply.delay, every);
        timer->expires_at(release);
        co_await timer->async_wait(nothrow);
        reply.extra_headers += release_header(arrived, release);
      } else {
        timer->expires_after(reply.delay);
        co_await timer->async_wait(nothrow);
      }
    }
    if (!co_await write_reply(&socket, std::move(reply), request.method() == http::verb::head,
                              keep_alive, request.version(), shared->options.split_writes)) {
      co_return;
    }
    if (!keep_alive) {
      boost::system::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_send, ignored);
      socket.close(ignored);
      co_return;
    }
  }
}

// Frame lifetime: owned by the worker's io_context, like the connections it spawns.
net::awaitable<void> accept_loop(tcp::acceptor* acceptor, Shared* shared) {
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(nothrow);
    if (ec == net::error::operation_aborted || !acceptor->is_open()) co_return;
    if (ec) {
      // Out of descriptors, most likely: back off instead of spinning on the error.
      net::steady_timer pause(acceptor->get_executor(), accept_retry_delay);
      co_await pause.async_wait(nothrow);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(!shared->options.split_writes), ignored);
    net::co_spawn(acceptor->get_executor(), serve_connection(std::move(socket), shared),
                  net::detached);
  }
}

void enable_reuse_port(tcp::acceptor& acceptor) {
  const int on = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
    throw std::system_error(errno, std::generic_category(), "setsockopt(SO_REUSEPORT)");
  }
}

}  // namespace

struct Server::Impl {
  struct Worker {
    net::io_context context{1};
    tcp::acceptor acceptor{context};
  };

  Shared shared;
  tcp::endpoint endpoint;
  std::vector<std::unique_ptr<Worker>> workers;
};

Server::Server(Options options) : impl_(std::make_unique<Impl>()) {
  validate(options);
  impl_->shared.options = std::move(options);
  const Options& opts = impl_->shared.options;
  impl_->endpoint = tcp::endpoint(net::ip::make_address(opts.listen.host), opts.listen.port);

  for (unsigned i = 0; i < opts.workers; ++i) {
    auto worker = std::make_unique<Impl::Worker>();
    tcp::acceptor& acceptor = worker->acceptor;
    acceptor.open(impl_->endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    // Only with several workers: with SO_REUSEPORT a second process of the same user could
    // bind the same fixed port and silently take half of the connections.
    if (opts.workers > 1) enable_reuse_port(acceptor);
    boost::system::error_code ec;
    acceptor.bind(impl_->endpoint, ec);
    if (ec) {
      throw std::system_error(
          ec, "cannot bind " + opts.listen.host + ":" + std::to_string(impl_->endpoint.port()));
    }
    acceptor.listen(net::socket_base::max_listen_connections);
    // Port 0: the first bind picked the port; the other workers join it.
    impl_->endpoint.port(acceptor.local_endpoint().port());
    net::co_spawn(worker->context, accept_loop(&acceptor, &impl_->shared), net::detached);
    impl_->workers.push_back(std::move(worker));
  }
}

Server::~Server() = default;

std::uint16_t Server::port() const noexcept { return impl_->endpoint.port(); }

std::string Server::listen_address() const {
  const auto address = impl_->endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(port());
}

unsigned Server::worker_count() const noexcept {
  return static_cast<unsigned>(impl_->workers.size());
}

Stats& Server::stats() noexcept { return impl_->shared.stats; }

void Server::run_worker(unsigned index) { impl_->workers.at(index)->context.run(); }

void Server::stop() noexcept {
  for (auto& worker : impl_->workers) worker->context.stop();
}

}  // namespace levee::mock_upstream
