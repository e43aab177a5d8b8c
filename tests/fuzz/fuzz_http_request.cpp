// Feeds arbitrary bytes to the server's request boundary: Beast's parser with levee's
// limits, then levee's own checks, then the conversion into the upstream request head.
// Nothing may crash, hang or read out of bounds.

#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
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
  levee::core::Request request = std::move(parser.request());
  (void)request.path();
  (void)request.query();
  (void)request.host();
  levee::upstream::strip_hop_by_hop(request.headers);
  levee::upstream::add_forwarding_headers(request.headers, "127.0.0.1", "http");
  (void)levee::upstream::serialize_request_head(request, "127.0.0.1:9000");
  return 0;
}
