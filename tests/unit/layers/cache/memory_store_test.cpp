#include "layers/cache/memory_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace levee::layers::cache {
namespace {

using std::chrono::seconds;

const TimePoint k_t0 = TimePoint{} + seconds{1000};

core::Request get(std::string target, std::vector<core::Header> headers = {},
                  std::string host = "api.example") {
  core::Request r;
  r.method = "GET";
  r.target = std::move(target);
  r.headers.add("Host", host);
  for (const auto& h : headers) r.headers.add(h.name, h.value);
  return r;
}

std::shared_ptr<const CachedResponse> entry(std::string body, std::vector<std::string> vary = {},
                                            Duration fresh = seconds{10},
                                            Duration stale = seconds{5}) {
  auto c = std::make_shared<CachedResponse>();
  c->status = 200;
  c->headers.add("Content-Type", "text/plain");
  c->headers.freeze();
  c->body = std::make_shared<const std::string>(std::move(body));
  c->stored_at = k_t0;
  c->fresh_for = fresh;
  c->stale_for = stale;
  c->vary = std::move(vary);
  return c;
}

// Stores the entry for `request` the way the layer will.
bool put(MemoryStore& store, const core::Request& request,
         std::shared_ptr<const CachedResponse> response) {
  const CacheKey key = primary_key(request);
  std::string variant = variant_key(key.primary, response->vary, request);
  return store.store(key, std::move(variant), std::move(response));
}

std::shared_ptr<const CachedResponse> find(MemoryStore& store, const core::Request& request,
                                           TimePoint now = k_t0) {
  return store.lookup(primary_key(request), request, now);
}

std::string body_of(const std::shared_ptr<const CachedResponse>& c) {
  return c && c->body ? *c->body : std::string("<miss>");
}

TEST(CacheMemoryStore, HitAndMiss) {
  MemoryStore store(1 << 20);
  EXPECT_EQ(find(store, get("/a")), nullptr);
  ASSERT_TRUE(put(store, get("/a"), entry("A")));
  EXPECT_EQ(body_of(find(store, get("/a"))), "A");
  core::Request head = get("/a");
  head.method = "HEAD";
  EXPECT_EQ(body_of(find(store, head)), "A");
  EXPECT_EQ(find(store, get("/a?x=1")), nullptr);
  EXPECT_EQ(find(store, get("/a", {}, "other.example")), nullptr);
  EXPECT_EQ(store.stats().entries, 1U);
  EXPECT_EQ(store.stats().stores, 1U);
}

TEST(CacheMemoryStore, ReplacingKeepsOneEntry) {
  MemoryStore store(1 << 20);
  ASSERT_TRUE(put(store, get("/a"), entry("old")));
  const std::uint64_t bytes_one = store.stats().bytes;
  ASSERT_TRUE(put(store, get("/a"), entry("new")));
  EXPECT_EQ(body_of(find(store, get("/a"))), "new");
  EXPECT_EQ(store.stats().entries, 1U);
  EXPECT_EQ(store.stats().bytes, bytes_one);
}

TEST(CacheMemoryStore, StaleIsServedExpiredIsDropped) {
  MemoryStore store(1 << 20);
  ASSERT_TRUE(put(store, get("/a"), entry("A")));
  const auto stale = find(store, get("/a"), k_t0 + seconds{12});
  ASSERT_NE(stale, nullptr);
  EXPECT_EQ(stale->freshness(k_t0 + seconds{12}), Freshness::stale);
  EXPECT_EQ(find(store, get("/a"), k_t0 + seconds{15}), nullptr);
  EXPECT_EQ(store.stats().entries, 0U);
  EXPECT_EQ(store.stats().bytes, 0U);
  EXPECT_EQ(store.stats().expired, 1U);
  // The caller's copy outlives the entry.
  EXPECT_EQ(body_of(stale), "A");
}

TEST(CacheMemoryStore, VariantsFollowTheStoredVaryList) {
  MemoryStore store(1 << 20);
  const std::vector<std::string> vary = {"accept"};
  ASSERT_TRUE(put(store, get("/a", {{"Accept", "json"}}), entry("J", vary)));
  ASSERT_TRUE(put(store, get("/a", {{"Accept", "xml"}}), entry("X", vary)));
  EXPECT_EQ(body_of(find(store, get("/a", {{"Accept", "json"}}))), "J");
  EXPECT_EQ(body_of(find(store, get("/a", {{"accept", "xml"}, {"X-Other", "1"}}))), "X");
  EXPECT_EQ(find(store, get("/a", {{"Accept", "html"}})), nullptr);
  EXPECT_EQ(find(store, get("/a")), nullptr);
  EXPECT_EQ(store.stats().entries, 2U);
}

TEST(CacheMemoryStore, LeastRecentlyUsedIsEvictedFirst) {
  // One shard, room for three entries of this size.
  auto probe = entry(std::string(100, 'x'));
  const CacheKey probe_key = primary_key(get("/k0"));
  const std::uint64_t cost = probe_key.primary.size() * 2 + probe_key.path.size() +
                             probe->byte_size() + MemoryStore::k_entry_overhead;
  MemoryStore store(cost * 3 + cost / 2, 1);
  for (const char* target : {"/k0", "/k1", "/k2"}) {
    ASSERT_TRUE(put(store, get(target), entry(std::string(100, 'x'))));
  }
  ASSERT_NE(find(store, get("/k0")), nullptr);  // /k1 is now the coldest
  ASSERT_TRUE(put(store, get("/k3"), entry(std::string(100, 'x'))));
  EXPECT_EQ(find(store, get("/k1")), nullptr);
  EXPECT_NE(find(store, get("/k0")), nullptr);
  EXPECT_NE(find(store, get("/k2")), nullptr);
  EXPECT_NE(find(store, get("/k3")), nullptr);
  EXPECT_EQ(store.stats().evictions, 1U);
  EXPECT_EQ(store.stats().entries, 3U);
}

TEST(CacheMemoryStore, ByteBudgetHoldsAfterManyInserts) {
  MemoryStore store(64 * 1024);
  for (int i = 0; i < 5000; ++i) {
    const std::string target = "/item?id=" + std::to_string(i);
    ASSERT_TRUE(
        put(store, get(target), entry(std::string(static_cast<std::size_t>(i % 700), 'b'))));
    ASSERT_LE(store.stats().bytes, store.max_bytes());
  }
  const MemoryStore::Stats s = store.stats();
  EXPECT_GT(s.evictions, 0U);
  EXPECT_GT(s.entries, 0U);
  EXPECT_EQ(s.entries + s.evictions, 5000U);
  // The most recent entry is still there.
  EXPECT_NE(find(store, get("/item?id=4999")), nullptr);
}

TEST(CacheMemoryStore, OversizeEntryIsRefused) {
  MemoryStore store(16 * 1024, 16);  // 1 KiB per shard
  EXPECT_FALSE(put(store, get("/big"), entry(std::string(2000, 'x'))));
  EXPECT_EQ(find(store, get("/big")), nullptr);
  EXPECT_EQ(store.stats().refused, 1U);
  EXPECT_EQ(store.stats().entries, 0U);
  EXPECT_FALSE(store.store(primary_key(get("/n")), "k", nullptr));
}

TEST(CacheMemoryStore, ErasePathDropsEveryQueryAndVariant) {
  MemoryStore store(1 << 20);
  const std::vector<std::string> vary = {"accept"};
  ASSERT_TRUE(put(store, get("/items"), entry("plain")));
  ASSERT_TRUE(put(store, get("/items?page=2"), entry("p2")));
  ASSERT_TRUE(put(store, get("/items?page=3", {{"Accept", "json"}}), entry("p3j", vary)));
  ASSERT_TRUE(put(store, get("/items?page=3", {{"Accept", "xml"}}), entry("p3x", vary)));
  ASSERT_TRUE(put(store, get("/items/1"), entry("child")));
  ASSERT_TRUE(put(store, get("/items", {}, "other.example"), entry("other host")));

  core::Request mutation = get("/items?ignored=1");
  mutation.method = "POST";
  mutation.headers.set("Host", "API.EXAMPLE");
  EXPECT_EQ(store.erase_path(mutation), 4U);
  EXPECT_EQ(find(store, get("/items")), nullptr);
  EXPECT_EQ(find(store, get("/items?page=2")), nullptr);
  EXPECT_EQ(find(store, get("/items?page=3", {{"Accept", "json"}})), nullptr);
  EXPECT_EQ(find(store, get("/items?page=3", {{"Accept", "xml"}})), nullptr);
  EXPECT_EQ(body_of(find(store, get("/items/1"))), "child");
  EXPECT_EQ(body_of(find(store, get("/items", {}, "other.example"))), "other host");
  EXPECT_EQ(store.stats().entries, 2U);
  EXPECT_EQ(store.stats().invalidated, 4U);
  EXPECT_EQ(store.erase_path("api.example", "/items"), 0U);
  // Stored again after the mutation: served again.
  ASSERT_TRUE(put(store, get("/items"), entry("fresh")));
  EXPECT_EQ(body_of(find(store, get("/items"))), "fresh");
}

TEST(CacheMemoryStore, ClearEmptiesEverything) {
  MemoryStore store(1 << 20);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(put(store, get("/c" + std::to_string(i)), entry("v")));
  store.clear();
  EXPECT_EQ(store.stats().entries, 0U);
  EXPECT_EQ(store.stats().bytes, 0U);
  EXPECT_EQ(find(store, get("/c1")), nullptr);
  EXPECT_EQ(store.erase_path("api.example", "/c1"), 0U);
}

TEST(CacheMemoryStore, ConcurrentWorkersSmoke) {
  MemoryStore store(256 * 1024);
  constexpr int k_threads = 4;
  constexpr int k_operations = 4000;
  std::atomic<int> hits{0};
  std::vector<std::thread> workers;
  workers.reserve(k_threads);
  for (int t = 0; t < k_threads; ++t) {
    workers.emplace_back([&store, &hits, t] {
      const std::vector<std::string> vary = {"accept"};
      for (int i = 0; i < k_operations; ++i) {
        const int n = (i * 7 + t * 13) % 300;
        const core::Request request = get("/p" + std::to_string(n % 20) + "?q=" + std::to_string(n),
                                          {{"Accept", n % 2 == 0 ? "json" : "xml"}});
        switch (i % 5) {
          case 0:
          case 1:
            put(store, request, entry(std::string(static_cast<std::size_t>(n), 'z'), vary));
            break;
          case 4:
            if (i % 50 == 4) {
              store.erase_path("api.example", "/p" + std::to_string(n % 20));
              break;
            }
            [[fallthrough]];
          default:
            if (const auto hit = find(store, request, k_t0 + seconds{i % 20})) {
              if (hit->body && hit->body->size() == static_cast<std::size_t>(n)) ++hits;
            }
        }
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  const MemoryStore::Stats s = store.stats();
  EXPECT_LE(s.bytes, store.max_bytes());
  EXPECT_GT(hits.load(), 0);
  std::uint64_t after_clear_entries = 0;
  store.clear();
  after_clear_entries = store.stats().entries;
  EXPECT_EQ(after_clear_entries, 0U);
  EXPECT_EQ(store.stats().bytes, 0U);
}

}  // namespace
}  // namespace levee::layers::cache
