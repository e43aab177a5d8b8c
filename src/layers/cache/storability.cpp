#include "layers/cache/storability.hpp"

#include <algorithm>
#include <utility>

#include "layers/cache/cache_control.hpp"
#include "layers/cache/cache_key.hpp"

namespace levee::layers::cache {
namespace {

StorageDecision refuse(Refusal refusal) {
  StorageDecision decision;
  decision.refusal = refusal;
  return decision;
}

std::uint64_t header_bytes(const core::Headers& headers) noexcept {
  std::uint64_t bytes = 0;
  for (const core::Header& header : headers) bytes += header.name.size() + header.value.size() + 4;
  return bytes;
}

}  // namespace

std::string_view to_string(Refusal refusal) noexcept {
  switch (refusal) {
    case Refusal::method:
      return "method";
    case Refusal::status:
      return "status";
    case Refusal::set_cookie:
      return "set_cookie";
    case Refusal::vary_star:
      return "vary_star";
    case Refusal::no_store:
      return "no_store";
    case Refusal::no_cache:
      return "no_cache";
    case Refusal::private_:
      return "private";
    case Refusal::authorization:
      return "authorization";
    case Refusal::too_large:
      return "too_large";
    case Refusal::expired:
      return "expired";
    case Refusal::grpc_status:
      return "grpc_status";
    case Refusal::grpc_stream:
      return "grpc_stream";
  }
  return "unknown";
}

bool is_cacheable_status(int status) noexcept {
  switch (status) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
      return true;
    default:
      return false;
  }
}

namespace {

// gRPC's length-prefixed message (PROTOCOL-HTTP2.md): a compressed flag, a 4-byte big-endian
// length, the message. True when `body` is exactly one of them.
bool is_one_grpc_message(std::string_view body) noexcept {
  constexpr std::size_t k_prefix = 5;
  if (body.size() < k_prefix) return false;
  std::uint64_t length = 0;
  for (std::size_t i = 1; i < k_prefix; ++i) {
    length = (length << 8) | static_cast<unsigned char>(body[i]);
  }
  return body.size() - k_prefix == length;
}

// The rules every storable method shares, from set_cookie on. `credentials_keyed`: the key
// holds the request's Authorization (a gRPC call's), so its answer reaches no other credential.
StorageDecision decide_after_status(const core::Headers& request_headers,
                                    const core::Headers& response_headers, std::uint64_t body_bytes,
                                    const RouteCacheRules& rules, bool credentials_keyed) {
  if (response_headers.contains("set-cookie")) return refuse(Refusal::set_cookie);
  VaryNames vary = parse_vary(response_headers);
  if (vary.star) return refuse(Refusal::vary_star);

  const bool honour = rules.honour_cache_control;
  const CacheControl cc = honour ? parse_cache_control(response_headers) : CacheControl{};
  if (honour && (cc.no_store || parse_cache_control(request_headers).no_store)) {
    return refuse(Refusal::no_store);
  }
  if (cc.no_cache) return refuse(Refusal::no_cache);
  if (cc.private_) return refuse(Refusal::private_);
  if (!credentials_keyed && request_headers.contains("authorization") &&
      !(cc.public_ || cc.s_maxage || cc.must_revalidate)) {
    return refuse(Refusal::authorization);
  }
  if (body_bytes > rules.max_entry_bytes ||
      header_bytes(response_headers) > rules.max_entry_bytes - body_bytes) {
    return refuse(Refusal::too_large);
  }

  StorageDecision decision;
  StoragePlan& plan = decision.plan;
  plan.fresh_for = cc.s_maxage  ? Duration{*cc.s_maxage}
                   : cc.max_age ? Duration{*cc.max_age}
                                : rules.ttl;
  const bool revalidate = cc.must_revalidate || cc.proxy_revalidate;
  if (cc.stale_while_revalidate && !revalidate) {
    plan.stale_for = *cc.stale_while_revalidate;
  } else if (revalidate || cc.s_maxage) {
    plan.stale_for = Duration::zero();
  } else {
    plan.stale_for = rules.stale_while_revalidate;
  }
  plan.fresh_for = std::max(plan.fresh_for, Duration::zero());
  plan.stale_for = std::max(plan.stale_for, Duration::zero());
  if (honour) {
    const std::string* age = response_headers.find("age");
    // A malformed Age is ignored (RFC 9111 5.1 only says it is a delta-seconds).
    if (age != nullptr) {
      if (const auto seconds = parse_delta_seconds(*age)) plan.initial_age = *seconds;
    }
  }
  CachedResponse probe;
  probe.fresh_for = plan.fresh_for;
  probe.stale_for = plan.stale_for;
  if (probe.retain_for() <= plan.initial_age) return refuse(Refusal::expired);
  plan.vary = std::move(vary.names);
  return decision;
}

}  // namespace

StorageDecision decide_storage(std::string_view method, const core::Headers& request_headers,
                               int status, const core::Headers& response_headers,
                               std::uint64_t body_bytes, const RouteCacheRules& rules) {
  if (method != "GET") return refuse(Refusal::method);
  if (!is_cacheable_status(status)) return refuse(Refusal::status);
  return decide_after_status(request_headers, response_headers, body_bytes, rules, false);
}

StorageDecision decide_grpc_storage(const core::Request& request, const core::Response& response,
                                    const RouteCacheRules& rules) {
  if (response.status != 200) return refuse(Refusal::status);
  const std::string* grpc_status = response.trailers.find("grpc-status");
  if (grpc_status == nullptr) grpc_status = response.headers.find("grpc-status");
  if (grpc_status == nullptr || *grpc_status != "0") return refuse(Refusal::grpc_status);
  if (!is_one_grpc_message(response.body_view())) return refuse(Refusal::grpc_stream);
  return decide_after_status(request.headers, response.headers,
                             response.body_size() + header_bytes(response.trailers), rules, true);
}

StorageDecision decide_storage(const core::Request& request, const core::Response& response,
                               const RouteCacheRules& rules) {
  return decide_storage(request.method, request.headers, response.status, response.headers,
                        response.body_size(), rules);
}

CachedResponse make_cached_response(const core::Response& response, const StoragePlan& plan,
                                    TimePoint now) {
  CachedResponse cached;
  cached.status = response.status;
  cached.headers = response.headers;
  cached.headers.remove("age");
  cached.headers.freeze();
  cached.body = response.body;
  cached.trailers = response.trailers;
  cached.trailers.freeze();
  cached.stored_at = now - plan.initial_age;
  cached.fresh_for = plan.fresh_for;
  cached.stale_for = plan.stale_for;
  cached.vary = plan.vary;
  return cached;
}

}  // namespace levee::layers::cache
