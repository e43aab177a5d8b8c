#pragma once
// The cache layer (DESIGN.md "Cache and circuit breaker"): in front of collapse, so that a hit
// skips the slot and the upstream altogether.
//
//   GET/HEAD: memory tier, then the shared tier (Redis, when configured); a fresh entry is answered
//   at once (X-Levee-Cache: hit); a stale one within
//     stale_while_revalidate is answered at once (stale) and refreshed by one background call
//     per key across every worker; otherwise the request goes on (miss) and a storable answer
//     (storability.hpp) is stored in both tiers. `Cache-Control: no-cache` or `no-store` in the
//     request skips the lookup (bypass) but the answer may still be stored.
//   gRPC unary calls, on a route with grpc = true (a POST with content-type application/grpc):
//     looked up and stored like a GET, under grpc_call_key (the request message is read whole
//     first) and decide_grpc_storage (HTTP 200, grpc-status 0, one message); a hit answers the
//     stored message with its trailers. A call is a read: it invalidates nothing.
//   Other methods, with invalidate_on_mutation: pass, and on a 2xx/3xx answer drop every
//     cached GET of the path from memory (any query, any variant) and the target's own entry
//     from the shared tier.
//
// Threading: one instance per worker, on that worker's io_context. The memory store, the
// rules, the counters and the set of keys being refreshed are shared by every worker; the
// shared tier is the worker's own. A background refresh is a coroutine detached on the
// worker's io_context; it holds the service's owner (hold_while_refreshing: the runtime's stage,
// which a reload may otherwise free while the refresh runs), so `this` outlives it.

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/request.hpp"
#include "core/service.hpp"
#include "layers/cache/cache_control.hpp"
#include "layers/cache/cache_key.hpp"
#include "layers/cache/cached_response.hpp"
#include "layers/cache/memory_store.hpp"
#include "layers/cache/shared_tier.hpp"
#include "layers/cache/storability.hpp"
#include "layers/cache/tee_stream.hpp"
#include "layers/cache/vary_record.hpp"
#include "layers/grpc/grpc_status.hpp"

namespace levee::admin {
class Counter;
}  // namespace levee::admin

namespace levee::layers::cache {

enum class CacheResult { hit, stale, miss, bypass };
inline constexpr std::size_t k_cache_results = 4;

// Shared by every worker's copy of a caching route; null counters are not counted.
struct CacheCounters {
  std::array<admin::Counter*, k_cache_results> lookups{};  // by CacheResult
  admin::Counter* shared_tier_hits = nullptr;  // hits (fresh or stale) found in the shared tier
  admin::Counter* stored = nullptr;
  admin::Counter* not_stored = nullptr;  // storable status but refused (no-store, Set-Cookie, …)
  admin::Counter* invalidated = nullptr;
  void count(admin::Counter* counter) const noexcept;
};

struct CacheRules {
  RouteCacheRules storage;
  bool invalidate_on_mutation = true;
  bool grpc = false;  // the route carries gRPC calls (grpc = true): unary answers are cached
};

// One per caching route, shared by its workers; a null store means the route does not cache.
struct CacheShared {
  std::shared_ptr<MemoryStore> store;  // the process's memory tier (every route shares it)
  std::shared_ptr<const CacheRules> rules;
  std::shared_ptr<const CacheCounters> counters;
  // Primary keys with a background refresh under way, so that each is refreshed once.
  std::shared_ptr<std::mutex> refreshing_mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::unordered_set<std::string>> refreshing =
      std::make_shared<std::unordered_set<std::string>>();
  // Primary keys with a streamed fill under way (a tee): the members of one collapse slot
  // each pass the same answer through their cache layer, and one copy of it is enough.
  std::shared_ptr<std::unordered_set<std::string>> filling =
      std::make_shared<std::unordered_set<std::string>>();
};

inline constexpr std::string_view k_cache_header = "X-Levee-Cache";

template <core::Service Inner>
class CacheService {
 public:
  // `shared_tier` may be null (memory only); the worker owns it and keeps it while this runs.
  // `now` decides freshness and stamps stored entries.
  CacheService(Inner inner, CacheShared shared, SharedTier* shared_tier,
               core::NowFunction now = core::Clock::now)
      : inner_(std::move(inner)),
        shared_(std::move(shared)),
        tier_(shared_tier),
        now_(std::move(now)) {}

  [[nodiscard]] boost::asio::awaitable<core::Response> call(core::Request request) {
    if (!shared_.store) co_return co_await inner_.call(std::move(request));  // not caching
    if (is_grpc_call(request)) co_return co_await call_grpc(std::move(request));
    const bool head = request.method == "HEAD";
    if (request.method != "GET" && !head) co_return co_await pass_mutation(std::move(request));
    CacheKey key = primary_key(request);
    co_return co_await lookup_or_fetch(std::move(request), std::move(key), head);
  }

  [[nodiscard]] Inner& inner() noexcept { return inner_; }

  // What owns this service (a core::Stage); each background refresh holds it while it runs.
  void hold_while_refreshing(std::weak_ptr<const void> owner) { owner_ = std::move(owner); }

 private:
  // A gRPC call this route caches: the route says grpc = true, and the request is one.
  [[nodiscard]] bool is_grpc_call(const core::Request& request) const noexcept {
    return shared_.rules->grpc && request.method == "POST" && grpc::is_grpc_request(request);
  }

  [[nodiscard]] boost::asio::awaitable<core::Response> call_grpc(core::Request request) {
    // The key holds the request message (HTTP/2 bodies arrive whole; an HTTP/1.1 one is read
    // here, within the server's max_body_bytes).
    if (request.body_stream && !co_await core::read_whole_body(request)) {
      co_return core::Response::text(400, "request body cut short");
    }
    CacheKey key = grpc_call_key(request);
    co_return co_await lookup_or_fetch(std::move(request), std::move(key), false);
  }

  [[nodiscard]] boost::asio::awaitable<core::Response> lookup_or_fetch(core::Request request,
                                                                       CacheKey key, bool head) {
    const CacheControl asked = parse_cache_control(request.headers);
    if (asked.no_cache || asked.no_store) {
      count_lookup(CacheResult::bypass);
      co_return co_await fetch_and_store(std::move(request), std::move(key), "bypass");
    }
    std::shared_ptr<const CachedResponse> cached = shared_.store->lookup(key, request, now_());
    if (!cached && tier_) cached = co_await shared_lookup(key, request);
    if (cached) {
      const auto now = now_();
      if (cached->freshness(now) == Freshness::fresh) {
        count_lookup(CacheResult::hit);
        co_return answer(*cached, now, head, "hit");
      }
      if (cached->freshness(now) == Freshness::stale) {
        count_lookup(CacheResult::stale);
        refresh_in_background(co_await boost::asio::this_coro::executor, request, key);
        co_return answer(*cached, now, head, "stale");
      }
    }
    count_lookup(CacheResult::miss);
    co_return co_await fetch_and_store(std::move(request), std::move(key), "miss");
  }

  void count_lookup(CacheResult result) const noexcept {
    shared_.counters->count(shared_.counters->lookups[static_cast<std::size_t>(result)]);
  }

  static core::Response answer(const CachedResponse& cached, TimePoint now, bool head,
                               std::string_view how) {
    core::Response response = make_hit_response(cached, now, head);
    response.headers.set(k_cache_header, how);
    return response;
  }

  // The request's parts the store needs after the request itself has gone down the chain,
  // and a background refresh sends again: a gRPC call's message with them.
  [[nodiscard]] core::Request key_part(const core::Request& request) const {
    core::Request copy;
    copy.method = request.method;
    copy.target = request.target;
    copy.version = request.version;
    copy.headers = request.headers;
    if (is_grpc_call(request)) copy.body = request.body;
    return copy;
  }

  // Whether an answer could be stored at all, on its flags and status alone; the rest of the
  // rules (storability.hpp) decide next. A HEAD answer has no body to store (a GET's answers
  // HEAD later); levee's own refusals are never stored.
  [[nodiscard]] bool may_store(const core::Request& request, const core::Response& response,
                               bool grpc) const noexcept {
    if (response.upstream_failed || response.shed) return false;
    if (grpc) return response.status == 200;
    return request.method == "GET" && is_cacheable_status(response.status);
  }

  [[nodiscard]] boost::asio::awaitable<core::Response> fetch_and_store(core::Request request,
                                                                       CacheKey key,
                                                                       std::string_view how) {
    core::Request keyed = key_part(request);
    core::Response response = co_await inner_.call(std::move(request));
    if (response.stream) {
      tee(std::move(keyed), std::move(key), response);
    } else {
      store(keyed, key, response);
    }
    response.headers.set(k_cache_header, how);
    co_return response;
  }

  // A streamed answer is stored once its body has passed through whole (TeeStream). Whether
  // it may be stored at all is decided on its head first, so that an answer that never can
  // be is not copied; the size is checked as it streams.
  void tee(core::Request keyed, CacheKey key, core::Response& response) {
    const bool grpc = is_grpc_call(keyed);
    if (!may_store(keyed, response, grpc)) return;
    const std::uint64_t limit = shared_.rules->storage.max_entry_bytes;
    if (auto declared = response.stream->length(); declared && *declared > limit) {
      shared_.counters->count(shared_.counters->not_stored);
      return;
    }
    // A gRPC answer's grpc-status comes in its trailers: store() decides at its end.
    if (!grpc && !decide_storage(keyed, response, shared_.rules->storage).storable()) {
      shared_.counters->count(shared_.counters->not_stored);
      return;
    }
    std::shared_ptr<void> claim = claim_fill(key.primary);
    if (!claim) return;  // another request's tee fills this key already
    core::Response head;
    head.status = response.status;
    head.headers = response.headers;
    response.stream = std::make_shared<TeeStream>(
        std::move(response.stream), static_cast<std::size_t>(limit),
        [this, keyed = std::move(keyed), key = std::move(key), head = std::move(head),
         claim = std::move(claim)](std::string body, const core::Headers& trailers) mutable {
          head.body = std::make_shared<const std::string>(std::move(body));
          head.trailers = trailers;
          store(keyed, key, head);
        });
  }

  // Held while a tee fills `primary` (the claim goes with the tee: at its end, clean or not);
  // null when another fill holds it.
  std::shared_ptr<void> claim_fill(const std::string& primary) {
    std::lock_guard lock(*shared_.refreshing_mutex);
    if (!shared_.filling->insert(primary).second) return nullptr;
    class Claim {
     public:
      Claim(CacheShared shared, std::string key)
          : shared_(std::move(shared)), key_(std::move(key)) {}
      ~Claim() {
        std::lock_guard lock(*shared_.refreshing_mutex);
        shared_.filling->erase(key_);
      }
      Claim(const Claim&) = delete;
      Claim& operator=(const Claim&) = delete;

     private:
      CacheShared shared_;
      std::string key_;
    };
    return std::make_shared<Claim>(shared_, primary);
  }

  void store(const core::Request& request, const CacheKey& key, const core::Response& response) {
    const bool grpc = is_grpc_call(request);
    if (!may_store(request, response, grpc)) return;
    const StorageDecision decision =
        grpc ? decide_grpc_storage(request, response, shared_.rules->storage)
             : decide_storage(request, response, shared_.rules->storage);
    if (!decision.storable()) {
      shared_.counters->count(shared_.counters->not_stored);
      return;
    }
    const auto now = now_();
    auto entry =
        std::make_shared<const CachedResponse>(make_cached_response(response, decision.plan, now));
    std::string variant = variant_key(key.primary, entry->vary, request);
    const auto ttl = std::chrono::ceil<std::chrono::milliseconds>(entry->retain_for());
    if (tier_ && ttl.count() > 0) {
      std::string bytes = encode(*entry, now, std::chrono::system_clock::now());
      if (entry->vary.empty()) {
        tier_->put(key.primary, std::move(bytes), ttl);
      } else {
        // A varying answer: its Vary names under the primary key, the answer under its variant.
        tier_->put(key.primary, encode_vary_record(entry->vary), ttl);
        tier_->put(variant, std::move(bytes), ttl);
      }
    }
    if (shared_.store->store(key, std::move(variant), std::move(entry))) {
      shared_.counters->count(shared_.counters->stored);
    }
  }

  // The shared tier's entry, put into memory too; null on a miss or an error. A varying
  // answer takes a second lookup: the primary key holds its Vary names (vary_record.hpp).
  [[nodiscard]] boost::asio::awaitable<std::shared_ptr<const CachedResponse>> shared_lookup(
      const CacheKey& key, const core::Request& request) {
    std::optional<std::string> bytes = co_await tier_->get(key.primary);
    if (!bytes) co_return nullptr;
    std::string variant = key.primary;
    std::vector<std::string> vary;
    if (is_vary_record(*bytes)) {
      auto names = parse_vary_record(*bytes);
      if (!names) co_return nullptr;
      vary = std::move(*names);
      variant = variant_key(key.primary, vary, request);
      bytes = co_await tier_->get(variant);
      if (!bytes) co_return nullptr;
    }
    auto decoded = decode(*bytes, now_(), std::chrono::system_clock::now());
    if (!decoded || decoded.value().vary != vary) co_return nullptr;
    auto entry = std::make_shared<const CachedResponse>(std::move(decoded).value());
    if (entry->freshness(now_()) == Freshness::expired) co_return nullptr;
    shared_.counters->count(shared_.counters->shared_tier_hits);
    (void)shared_.store->store(key, std::move(variant), entry);
    co_return entry;
  }

  void refresh_in_background(const boost::asio::any_io_executor& executor,
                             const core::Request& request, const CacheKey& key) {
    {
      std::lock_guard lock(*shared_.refreshing_mutex);
      if (!shared_.refreshing->insert(key.primary).second) return;  // one is under way
    }
    // The detached frame is owned by the worker's io_context (see the header's contract).
    boost::asio::co_spawn(executor, refresh(key_part(request), key, owner_.lock()),
                          boost::asio::detached);
  }

  // `owner` keeps this service alive until the refresh ends.
  [[nodiscard]] boost::asio::awaitable<void> refresh(core::Request request, CacheKey key,
                                                     std::shared_ptr<const void> owner) {
    struct Done {
      const CacheShared& shared;
      const std::string& primary;
      ~Done() {
        std::lock_guard lock(*shared.refreshing_mutex);
        shared.refreshing->erase(primary);
      }
    } done{shared_, key.primary};
    core::Request keyed = key_part(request);
    core::Response response = co_await inner_.call(std::move(request));
    if (response.stream) {
      // Nobody reads this answer but the cache: drain it through the tee, which stores it
      // only if it ends cleanly.
      tee(std::move(keyed), std::move(key), response);
      if (!response.stream) co_return;
      for (;;) {
        core::BodyPiece piece = co_await response.stream->read();
        if (!piece || piece.value().empty()) co_return;
      }
    }
    store(keyed, key, response);
  }

  [[nodiscard]] boost::asio::awaitable<core::Response> pass_mutation(core::Request request) {
    const bool invalidate = shared_.rules->invalidate_on_mutation && !is_safe(request.method);
    std::string host;
    std::string path;
    std::string target_key;
    if (invalidate) {
      host = key_host(request);
      path = std::string(request.path());
      core::Request as_get = key_part(request);
      as_get.method = "GET";
      target_key = primary_key(as_get).primary;
    }
    core::Response response = co_await inner_.call(std::move(request));
    if (invalidate && response.status >= 200 && response.status < 400) {
      const std::size_t dropped = shared_.store->erase_path(host, path);
      for (std::size_t i = 0; i < dropped; ++i) {
        shared_.counters->count(shared_.counters->invalidated);
      }
      if (tier_) tier_->erase(std::move(target_key));
    }
    co_return response;
  }

  // RFC 9110 9.2.1: these never change anything, so they invalidate nothing.
  static bool is_safe(std::string_view method) noexcept {
    return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE";
  }

  Inner inner_;
  CacheShared shared_;
  SharedTier* tier_;
  core::NowFunction now_;
  std::weak_ptr<const void> owner_;
};

}  // namespace levee::layers::cache
