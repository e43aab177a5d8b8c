#include "layers/cache/memory_store.hpp"

#include <xxhash.h>

#include <algorithm>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace levee::layers::cache {
namespace {

struct Node;
using Lru = std::list<Node>;  // front: most recently used
using PathEntries = std::list<Lru::iterator>;

struct PrimaryInfo {
  std::vector<std::string> vary;  // of the response last stored under this primary key
  std::size_t variants = 0;       // entries that point here
};
using Primaries = std::unordered_map<std::string, PrimaryInfo>;
using Paths = std::unordered_map<std::string, PathEntries>;

// References to unordered_map elements stay valid across rehashing, so a node points straight
// at its primary and path records.
struct Node {
  std::string key;  // the variant key
  std::shared_ptr<const CachedResponse> response;
  std::size_t bytes = 0;
  Primaries::value_type* primary = nullptr;
  Paths::value_type* path = nullptr;
  PathEntries::iterator in_path;
};

}  // namespace

struct MemoryStore::Shard {
  std::mutex mutex;
  Lru lru;
  // Views into Node::key: a list node never moves, so the view lives as long as the node.
  std::unordered_map<std::string_view, Lru::iterator> by_key;
  Primaries primaries;
  Paths paths;
  std::uint64_t bytes = 0;

  // Unlinks one entry from every index; returns the bytes it was charged.
  std::size_t remove(Lru::iterator node) {
    const std::size_t cost = node->bytes;
    by_key.erase(std::string_view(node->key));
    node->path->second.erase(node->in_path);
    if (node->path->second.empty()) paths.erase(paths.find(node->path->first));
    if (--node->primary->second.variants == 0) {
      primaries.erase(primaries.find(node->primary->first));
    }
    bytes -= cost;
    lru.erase(node);
    return cost;
  }

  void clear() {
    by_key.clear();
    lru.clear();
    primaries.clear();
    paths.clear();
    bytes = 0;
  }
};

MemoryStore::MemoryStore(std::uint64_t max_bytes, std::size_t shards)
    : max_bytes_(max_bytes), shard_budget_(max_bytes / std::max<std::size_t>(1, shards)) {
  shards_.reserve(std::max<std::size_t>(1, shards));
  for (std::size_t i = 0; i < std::max<std::size_t>(1, shards); ++i) {
    shards_.push_back(std::make_unique<Shard>());
  }
}

MemoryStore::~MemoryStore() = default;

MemoryStore::Shard& MemoryStore::shard_for(std::string_view primary) noexcept {
  return *shards_[XXH3_64bits(primary.data(), primary.size()) % shards_.size()];
}

std::shared_ptr<const CachedResponse> MemoryStore::lookup(const CacheKey& key,
                                                          const core::Request& request,
                                                          TimePoint now) {
  Shard& shard = shard_for(key.primary);
  std::lock_guard lock(shard.mutex);
  const auto primary = shard.primaries.find(key.primary);
  if (primary == shard.primaries.end()) return nullptr;
  const std::string variant = variant_key(key.primary, primary->second.vary, request);
  const auto found = shard.by_key.find(std::string_view(variant));
  if (found == shard.by_key.end()) return nullptr;
  const Lru::iterator node = found->second;
  if (node->response->freshness(now) == Freshness::expired) {
    const std::size_t cost = shard.remove(node);
    bytes_.fetch_sub(cost, std::memory_order_relaxed);
    entries_.fetch_sub(1, std::memory_order_relaxed);
    expired_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, node);
  return node->response;
}

bool MemoryStore::store(const CacheKey& key, std::string variant,
                        std::shared_ptr<const CachedResponse> response) {
  if (!response) return false;
  const std::size_t cost = variant.size() + key.primary.size() + key.path.size() +
                           response->byte_size() + k_entry_overhead;
  Shard& shard = shard_for(key.primary);
  if (cost > shard_budget_) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  std::lock_guard lock(shard.mutex);
  std::size_t freed = 0;
  std::uint64_t dropped = 0;
  if (const auto old = shard.by_key.find(std::string_view(variant)); old != shard.by_key.end()) {
    freed += shard.remove(old->second);
    ++dropped;
  }

  Primaries::value_type& primary = *shard.primaries.try_emplace(key.primary).first;
  // The latest response decides which headers this URL varies on; entries stored under an
  // older list keep their own variant keys and age out.
  primary.second.vary = response->vary;
  ++primary.second.variants;
  Paths::value_type& path = *shard.paths.try_emplace(key.path).first;

  shard.lru.push_front(Node{std::move(variant), std::move(response), cost, &primary, &path, {}});
  const Lru::iterator node = shard.lru.begin();
  node->in_path = path.second.insert(path.second.end(), node);
  shard.by_key.emplace(std::string_view(node->key), node);
  shard.bytes += cost;

  // cost <= shard_budget_, so the loop stops at the latest entry at the very worst.
  std::uint64_t evicted = 0;
  while (shard.bytes > shard_budget_) {
    freed += shard.remove(std::prev(shard.lru.end()));
    ++evicted;
  }
  bytes_.fetch_add(cost, std::memory_order_relaxed);
  bytes_.fetch_sub(freed, std::memory_order_relaxed);
  entries_.fetch_add(1, std::memory_order_relaxed);
  entries_.fetch_sub(dropped + evicted, std::memory_order_relaxed);
  evictions_.fetch_add(evicted, std::memory_order_relaxed);
  stores_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::size_t MemoryStore::erase_path(std::string_view host, std::string_view path) {
  const std::string index = path_key(host, path);
  std::size_t erased = 0;
  // Shard by shard, never two locks at once: an entry stored meanwhile in a shard already
  // visited survives, as it would had it been stored just after the mutation.
  for (const std::unique_ptr<Shard>& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    std::size_t freed = 0;
    std::uint64_t count = 0;
    for (auto found = shard->paths.find(index); found != shard->paths.end();
         found = shard->paths.find(index)) {
      freed += shard->remove(found->second.front());
      ++count;
    }
    bytes_.fetch_sub(freed, std::memory_order_relaxed);
    entries_.fetch_sub(count, std::memory_order_relaxed);
    erased += count;
  }
  invalidated_.fetch_add(erased, std::memory_order_relaxed);
  return erased;
}

std::size_t MemoryStore::erase_path(const core::Request& request) {
  return erase_path(key_host(request), request.path());
}

void MemoryStore::clear() {
  for (const std::unique_ptr<Shard>& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    bytes_.fetch_sub(shard->bytes, std::memory_order_relaxed);
    entries_.fetch_sub(shard->lru.size(), std::memory_order_relaxed);
    shard->clear();
  }
}

MemoryStore::Stats MemoryStore::stats() const noexcept {
  Stats s;
  s.entries = entries_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  s.stores = stores_.load(std::memory_order_relaxed);
  s.refused = refused_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.expired = expired_.load(std::memory_order_relaxed);
  s.invalidated = invalidated_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace levee::layers::cache
