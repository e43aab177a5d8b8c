#include "upstream/upstream_client.hpp"

#include <fmt/format.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <optional>
#include <tuple>

#include "upstream/header_rewrite.hpp"
#include "upstream/quick_ack.hpp"
#include "upstream/response_parser.hpp"
#include "upstream/upstream_body.hpp"

namespace levee::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t k_max_response_header_bytes = 64 * 1024;

bool method_has_body_semantics(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

UpstreamError classify(const boost::system::error_code& ec, const UpstreamConnection& connection) {
  if (connection.timed_out) return {UpstreamErrorKind::timeout, {}};
  if (ec == http::error::body_limit) return {UpstreamErrorKind::response_too_large, {}};
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::error::broken_pipe || ec == asio::error::connection_aborted) {
    return {UpstreamErrorKind::reset, {}};
  }
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
    return {UpstreamErrorKind::invalid_response, ec.message()};
  }
  return {UpstreamErrorKind::reset, ec.message()};
}

}  // namespace

std::string serialize_request_head(const core::Request& request, std::string_view default_host) {
  std::string head;
  head.reserve(256 + request.target.size());
  head += request.method;
  head += ' ';
  head += request.target;
  head += " HTTP/1.1\r\n";
  bool has_host = false;
  for (const auto& h : request.headers) {
    if (core::iequals(h.name, "Content-Length") || core::iequals(h.name, "Expect")) continue;
    if (core::iequals(h.name, "Host")) has_host = true;
    head += h.name;
    head += ": ";
    head += h.value;
    head += "\r\n";
  }
  if (!has_host) {
    head += "Host: ";
    head += default_host;
    head += "\r\n";
  }
  if (request.body_stream) {
    // The body is forwarded as the client sends it: with the length it declared, or chunked.
    if (auto declared = request.body_stream->length()) {
      head += fmt::format("Content-Length: {}\r\n\r\n", *declared);
    } else {
      head += "Transfer-Encoding: chunked\r\n\r\n";
    }
    return head;
  }
  if (!request.trailers.empty()) {
    head += "Transfer-Encoding: chunked\r\n\r\n";
    if (!request.body.empty()) head += fmt::format("{:x}\r\n", request.body.size());
    return head;
  }
  if (!request.body.empty() || method_has_body_semantics(request.method)) {
    head += "Content-Length: ";
    head += std::to_string(request.body.size());
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

std::string serialize_request_tail(const core::Request& request) {
  if (request.trailers.empty()) return {};
  std::string tail = request.body.empty() ? "0\r\n" : "\r\n0\r\n";
  for (const auto& h : request.trailers) {
    tail += h.name;
    tail += ": ";
    tail += h.value;
    tail += "\r\n";
  }
  tail += "\r\n";
  return tail;
}

struct UpstreamClient::Attempt {
  std::optional<core::Response> response;
  std::optional<UpstreamError> error;
  bool nothing_received = false;  // failed before the first response byte
  bool reusable = false;
  // The parser of a body still arriving: it goes into the response's UpstreamBody stream.
  std::unique_ptr<ResponseParser> body;
  bool request_streamed = false;  // pieces of the client's body were read: no retry
};

asio::awaitable<boost::system::error_code> UpstreamClient::write_streamed_body(
    UpstreamConnection& connection, const core::Request& request, bool forward_trailers,
    std::optional<core::BodyError>& client_body, bool& streamed) {
  auto& stream = connection.stream;
  core::BodyStream& body = *request.body_stream;
  const bool chunked = !body.length();
  static constexpr std::string_view k_crlf = "\r\n";
  // Each piece goes out before the next is asked for: a slow upstream stops the client's.
  const auto send = [&](std::string_view piece) -> asio::awaitable<boost::system::error_code> {
    std::string size_line;
    if (chunked) size_line = fmt::format("{:x}\r\n", piece.size());
    std::array<asio::const_buffer, 3> out{asio::buffer(size_line), asio::buffer(piece),
                                          chunked ? asio::buffer(k_crlf) : asio::const_buffer{}};
    auto [ec, n] = co_await asio::async_write(stream, out, asio::as_tuple(asio::use_awaitable));
    co_return ec;
  };
  if (!request.body.empty()) {
    if (auto ec = co_await send(request.body)) co_return ec;
  }
  for (;;) {
    streamed = true;
    core::BodyPiece piece = co_await body.read();
    if (!piece) {
      client_body = piece.error();
      co_return boost::system::error_code{};
    }
    if (piece.value().empty()) break;
    if (auto ec = co_await send(piece.value())) co_return ec;
  }
  if (!chunked) co_return boost::system::error_code{};
  core::Headers trailers = body.take_trailers();
  std::string tail = "0\r\n";
  if (forward_trailers) {
    (void)strip_forbidden_trailers(trailers);
    for (const auto& h : trailers) {
      tail += h.name;
      tail += ": ";
      tail += h.value;
      tail += "\r\n";
    }
  }
  tail += "\r\n";
  auto [ec, n] =
      co_await asio::async_write(stream, asio::buffer(tail), asio::as_tuple(asio::use_awaitable));
  co_return ec;
}

asio::awaitable<UpstreamClient::Attempt> UpstreamClient::exchange(UpstreamConnection& connection,
                                                                  const std::string& head,
                                                                  const core::Request& request,
                                                                  bool forward_trailers) {
  Attempt attempt;
  auto& stream = connection.stream;
  Deadline deadline(pool_, connection, config().request_timeout);

  boost::system::error_code write_ec;
  if (request.body_stream) {
    std::tie(write_ec, std::ignore) =
        co_await asio::async_write(stream, asio::buffer(head), asio::as_tuple(asio::use_awaitable));
    std::optional<core::BodyError> client_body;
    if (!write_ec) {
      write_ec = co_await write_streamed_body(connection, request, forward_trailers, client_body,
                                              attempt.request_streamed);
    }
    if (client_body) {
      attempt.error = UpstreamError{UpstreamErrorKind::reset, {}, client_body};
      co_return attempt;
    }
  } else {
    const std::string tail = serialize_request_tail(request);
    std::array<asio::const_buffer, 3> out{asio::buffer(head), asio::buffer(request.body),
                                          asio::buffer(tail)};
    std::tie(write_ec, std::ignore) =
        co_await asio::async_write(stream, out, asio::as_tuple(asio::use_awaitable));
  }
  if (write_ec) {
    attempt.error = classify(write_ec, connection);
    attempt.nothing_received = true;
    co_return attempt;
  }

  const bool head_request = request.method == "HEAD";
  for (;;) {
    auto parser = std::make_unique<ResponseParser>();
    parser->header_limit(k_max_response_header_bytes);
    // The body is never held whole here: what is not complete after the head's read is
    // streamed (UpstreamBody), and a holder that must keep it all applies max_response_bytes.
    parser->body_limit(boost::none);
    // Header and body in one pass over what arrived: a response that came in one piece is
    // then complete after the first read, and its connection never needs ack_promptly().
    parser->eager(true);
    if (head_request) parser->skip(true);
    const std::size_t buffered_before = connection.buffer.size();
    boost::system::error_code read_ec;
    for (bool first_read = true; !parser->is_header_done(); first_read = false) {
      if (!first_read) ack_promptly(connection.socket);
      auto [ec, n] = co_await http::async_read_some(stream, connection.buffer, *parser,
                                                    asio::as_tuple(asio::use_awaitable));
      if (ec) {
        read_ec = ec;
        break;
      }
    }
    if (read_ec) {
      attempt.error = classify(read_ec, connection);
      attempt.nothing_received = buffered_before == 0 && !parser->got_some();
      co_return attempt;
    }
    const int status = parser->status();
    // Interim responses (100 Continue, 103 Early Hints) precede the real one; 101 would be a
    // protocol switch, which levee does not proxy.
    if (status >= 100 && status < 200 && status != 101) continue;

    const bool complete = parser->is_done();
    core::Response response;
    if (complete) {
      attempt.reusable = parser->keep_alive() && connection.buffer.size() == 0;
      response = parser->take();
    } else {
      response = parser->take_head();
      attempt.body = std::move(parser);
    }
    strip_hop_by_hop(response.headers);
    // The server frames the response itself (from the body, or the stream's declared
    // length); only a HEAD answer keeps the upstream's, since it describes a body not sent.
    if (!head_request) response.headers.remove("Content-Length");
    append_via(response.headers, "1.1");
    attempt.response = std::move(response);
    co_return attempt;
  }
}

asio::awaitable<core::Result<core::Response, UpstreamError>> UpstreamClient::send(
    core::Request& request, bool forward_trailers) {
  if (h2_ != nullptr) co_return co_await h2_->send(request);
  strip_hop_by_hop(request.headers);
  add_forwarding_headers(request.headers, request.client_address, "http");
  if (!request.trailers.empty()) (void)strip_forbidden_trailers(request.trailers);
  const std::string head = serialize_request_head(request, config().address.to_string());

  auto acquired = co_await pool_.acquire();
  if (!acquired) co_return core::unexpected(acquired.error());
  ConnectionPtr connection = std::move(acquired).value();

  Attempt attempt = co_await exchange(*connection, head, request, forward_trailers);
  if (attempt.error && connection->reused && attempt.nothing_received &&
      !attempt.request_streamed && !attempt.error->client_body &&
      attempt.error->kind == UpstreamErrorKind::reset && core::is_idempotent(request.method)) {
    auto fresh = co_await pool_.connect();
    if (!fresh) co_return core::unexpected(fresh.error());
    connection = std::move(fresh).value();
    attempt = co_await exchange(*connection, head, request, forward_trailers);
  }
  if (attempt.error) co_return core::unexpected(std::move(*attempt.error));
  if (attempt.body) {
    attempt.response->stream =
        std::make_shared<UpstreamBody>(pool_, std::move(connection), std::move(attempt.body));
  } else if (attempt.reusable) {
    pool_.release(std::move(connection));
  }
  co_return std::move(*attempt.response);
}

}  // namespace levee::upstream
