#pragma once
// The memory tier of the response cache: one store shared by every worker thread, bounded by a
// byte budget with least-recently-used eviction (DESIGN.md "Cache and circuit breaker").
//
// Threading: every function may be called from any thread. The store is split into shards by
// the hash of the primary key, each with its own mutex, LRU list and indexes, and an equal share
// of the budget, so workers rarely wait on each other; no lock is held across shards. Entries
// are handed out as shared_ptr<const CachedResponse>: a caller keeps its copy alive after the
// entry is evicted or replaced, and never sees it change.
//
// Keys (cache_key.hpp): a primary key holds the Vary list of the response last stored for it;
// lookup() computes the request's variant key from that list. Every entry is also indexed under
// its path key, so erase_path() drops every query string and variant of a path, in every shard.
//
// Budget: an entry costs its key strings, CachedResponse::byte_size() and k_entry_overhead. An
// entry that alone exceeds its shard's share (max_bytes / shards) is refused; otherwise storing
// evicts from the cold end until the shard is within its share again. Expired entries are
// dropped when a lookup finds them (and by eviction otherwise); hits and misses are counted by
// the layer, evictions, stores and drops here.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/request.hpp"
#include "layers/cache/cache_key.hpp"
#include "layers/cache/cached_response.hpp"

namespace levee::layers::cache {

class MemoryStore {
 public:
  // Bookkeeping charged per entry on top of its strings: list and hash nodes, shared_ptr blocks.
  static constexpr std::size_t k_entry_overhead = 256;
  static constexpr std::size_t k_default_shards = 16;

  struct Stats {
    std::uint64_t entries = 0;
    std::uint64_t bytes = 0;
    std::uint64_t stores = 0;       // entries stored (including replacements)
    std::uint64_t refused = 0;      // store() of an entry larger than a shard's share
    std::uint64_t evictions = 0;    // entries pushed out by the budget
    std::uint64_t expired = 0;      // entries dropped by lookup() because they had expired
    std::uint64_t invalidated = 0;  // entries dropped by erase_path()
  };

  explicit MemoryStore(std::uint64_t max_bytes, std::size_t shards = k_default_shards);
  ~MemoryStore();
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  // The entry for this request if it is fresh or stale (see CachedResponse::freshness), else
  // null; an expired entry is dropped. A hit becomes the shard's most recently used entry.
  [[nodiscard]] std::shared_ptr<const CachedResponse> lookup(const CacheKey& key,
                                                             const core::Request& request,
                                                             TimePoint now);

  // Stores (or replaces) the entry under `variant` (variant_key(key.primary, response->vary,
  // request)); the primary key's Vary list becomes response->vary. False when refused as too
  // large for a shard.
  bool store(const CacheKey& key, std::string variant,
             std::shared_ptr<const CachedResponse> response);

  // invalidate_on_mutation: drops every entry of host + path (any query, any variant).
  // `host` as key_host() spells it (case does not matter). Returns how many were dropped.
  std::size_t erase_path(std::string_view host, std::string_view path);
  std::size_t erase_path(const core::Request& request);

  void clear();

  [[nodiscard]] Stats stats() const noexcept;
  [[nodiscard]] std::uint64_t max_bytes() const noexcept { return max_bytes_; }
  [[nodiscard]] std::uint64_t shard_budget() const noexcept { return shard_budget_; }

 private:
  struct Shard;
  Shard& shard_for(std::string_view primary) noexcept;

  std::uint64_t max_bytes_;
  std::uint64_t shard_budget_;
  std::vector<std::unique_ptr<Shard>> shards_;

  std::atomic<std::uint64_t> entries_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> stores_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> evictions_{0};
  std::atomic<std::uint64_t> expired_{0};
  std::atomic<std::uint64_t> invalidated_{0};
};

}  // namespace levee::layers::cache
