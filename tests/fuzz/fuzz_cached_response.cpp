// Arbitrary bytes as a cached response read back from Redis (another instance, another version,
// or a corrupted value): decode must either return an entry whose fields are in range or an
// error, never crash, hang or allocate beyond the input. A decoded entry must encode back to the
// same bytes' meaning: decoding the re-encoding gives the same entry.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "layers/cache/cached_response.hpp"

namespace {

namespace cache = levee::layers::cache;

void require(bool condition) {
  if (!condition) std::abort();
}

bool same(const cache::CachedResponse& a, const cache::CachedResponse& b) {
  if (a.status != b.status || a.fresh_for != b.fresh_for || a.stale_for != b.stale_for ||
      a.stored_at != b.stored_at || a.vary != b.vary || a.headers.size() != b.headers.size()) {
    return false;
  }
  auto other = b.headers.begin();
  for (const levee::core::Header& header : a.headers) {
    if (header.name != other->name || header.value != other->value) return false;
    ++other;
  }
  const std::string_view body_a = a.body ? std::string_view(*a.body) : std::string_view{};
  const std::string_view body_b = b.body ? std::string_view(*b.body) : std::string_view{};
  return body_a == body_b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const cache::TimePoint now = cache::TimePoint{} + std::chrono::hours(24);
  const cache::WallTimePoint wall_now = cache::WallTimePoint{} + std::chrono::hours(475'000);

  auto decoded = cache::decode(bytes, now, wall_now);
  if (!decoded.ok()) {
    require(!cache::to_string(decoded.error()).empty());
    return 0;
  }
  const cache::CachedResponse& entry = decoded.value();
  require(entry.status >= 100 && entry.status <= 999);
  require(entry.fresh_for >= cache::Duration::zero());
  require(entry.fresh_for <= cache::k_max_stored_duration);
  require(entry.stale_for <= cache::k_max_stored_duration);
  require(entry.age(now) >= cache::Duration::zero());
  require(entry.body == nullptr || entry.body->size() <= size);
  (void)entry.freshness(now);
  (void)entry.age_seconds(now);

  auto again = cache::decode(cache::encode(entry, now, wall_now), now, wall_now);
  require(again.ok());
  require(same(entry, again.value()));
  return 0;
}
