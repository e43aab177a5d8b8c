// Feeds arbitrary bytes to the server's request boundary: Beast's parser with levee's
// limits, then levee's own checks, then the conversion into the upstream request head.
// Nothing may crash, hang or read out of bounds, and a chunked request's trailer fields never
// reach the header section (issue 16.2: a trailing "Host: evil" became "Host: t, evil").

#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/request.hpp"
#include "server/request_checks.hpp"
#include "upstream/header_rewrite.hpp"
#include "upstream/upstream_client.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  levee::server::RequestParser parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::system::error_code ec;
  std::size_t used = 0;
  while (used < input.size() && !parser.is_done()) {
    auto n = parser.put(boost::asio::buffer(input.data() + used, input.size() - used), ec);
    if (ec == boost::beast::http::error::need_more) break;
    if (ec) {
      (void)levee::server::names_other_http_version(input);
      return 0;
    }
    if (n == 0) break;
    used += n;
  }
  if (!parser.is_header_done()) return 0;
  if (levee::server::check_header(parser).status != 0) return 0;
  const bool complete = parser.is_done();
  levee::core::Request request = std::move(parser.request());
  request.trailers = parser.take_trailers();
  std::size_t hosts = 0;
  for (const auto& field : request.headers) hosts += levee::core::iequals(field.name, "Host");
  if (hosts != parser.host_fields()) std::abort();  // a trailer was taken for a header
  if (complete && !parser.chunked() && !request.trailers.empty()) std::abort();
  (void)request.path();
  (void)request.query();
  (void)request.host();
  levee::upstream::strip_hop_by_hop(request.headers);
  levee::upstream::add_forwarding_headers(request.headers, "127.0.0.1", "http");
  (void)levee::upstream::strip_forbidden_trailers(request.trailers);
  for (const auto& field : request.trailers) {
    if (levee::core::iequals(field.name, "Host")) std::abort();
  }
  (void)levee::upstream::serialize_request_head(request, "127.0.0.1:9000");
  (void)levee::upstream::serialize_request_tail(request);
  return 0;
}
