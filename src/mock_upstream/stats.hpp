#pragma once
// Exact call counters of levee-upstream, shared by every worker thread: tests assert on them
// (how many calls reached the upstream), so they are exact, not sampled. Endpoint counters
// are relaxed atomics; per-path counters live in a sharded map so that /api calls on
// different workers rarely meet on a lock. The path map is bounded: past max_paths distinct
// paths, further new paths share one overflow counter, so memory never grows with traffic.
// reset() is not atomic with respect to concurrent calls; tests reset between phases.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace levee::mock_upstream {

enum class Endpoint : std::size_t { api, process, process_batch, slow, status, other };
inline constexpr std::size_t endpoint_count = 6;

[[nodiscard]] std::string_view endpoint_name(Endpoint endpoint) noexcept;
// Which counter a request path belongs to ("/api/x" -> api, "/status/503" -> status, ...).
[[nodiscard]] Endpoint classify_path(std::string_view path) noexcept;

class Stats {
 public:
  static constexpr std::size_t max_paths = 10000;
  // The key under "paths" that counts calls to paths beyond max_paths. It cannot collide with
  // a real path, which always starts with '/'.
  static constexpr std::string_view overflow_key = "other";

  // Counts one call; returns the path's count including this call (1 for the first).
  std::uint64_t record(Endpoint endpoint, std::string_view path);
  void add_batch_items(std::uint64_t items) noexcept;
  void reset();

  // {"total":N,"endpoints":{"/api":N,...,"/process_batch_items":N},"paths":{"/api/x":N,...}}
  [[nodiscard]] std::string to_json() const;

 private:
  struct PathHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view path) const noexcept {
      return std::hash<std::string_view>{}(path);
    }
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::uint64_t, PathHash, std::equal_to<>> counts;
  };
  static constexpr std::size_t shard_count = 16;

  std::atomic<std::uint64_t> total_{0};
  std::array<std::atomic<std::uint64_t>, endpoint_count> endpoints_{};
  std::atomic<std::uint64_t> batch_items_{0};
  std::atomic<std::size_t> distinct_paths_{0};
  std::atomic<std::uint64_t> overflow_calls_{0};
  std::array<Shard, shard_count> shards_;
};

}  // namespace levee::mock_upstream
