#include "mock_upstream/stats.hpp"

#include "core/json_string.hpp"

namespace levee::mock_upstream {
namespace {

bool has_prefix_segment(std::string_view path, std::string_view prefix) {
  return path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/');
}

}  // namespace

std::string_view endpoint_name(Endpoint endpoint) noexcept {
  switch (endpoint) {
    case Endpoint::api:
      return "/api";
    case Endpoint::process:
      return "/process";
    case Endpoint::process_batch:
      return "/process_batch";
    case Endpoint::slow:
      return "/slow";
    case Endpoint::status:
      return "/status";
    case Endpoint::other:
      return "/other";
  }
  return "/other";
}

Endpoint classify_path(std::string_view path) noexcept {
  if (has_prefix_segment(path, "/api")) return Endpoint::api;
  if (path == "/process") return Endpoint::process;
  if (path == "/process_batch") return Endpoint::process_batch;
  if (path == "/slow") return Endpoint::slow;
  if (path.starts_with("/status/")) return Endpoint::status;
  return Endpoint::other;
}

std::uint64_t Stats::record(Endpoint endpoint, std::string_view path) {
  total_.fetch_add(1, std::memory_order_relaxed);
  endpoints_[static_cast<std::size_t>(endpoint)].fetch_add(1, std::memory_order_relaxed);

  const std::size_t hash = PathHash{}(path);
  Shard& shard = shards_[hash % shard_count];
  std::lock_guard lock(shard.mutex);
  if (auto it = shard.counts.find(path); it != shard.counts.end()) return ++it->second;
  if (distinct_paths_.fetch_add(1, std::memory_order_relaxed) >= max_paths) {
    distinct_paths_.fetch_sub(1, std::memory_order_relaxed);
    return overflow_calls_.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  shard.counts.emplace(std::string(path), 1);
  return 1;
}

void Stats::add_batch_items(std::uint64_t items) noexcept {
  batch_items_.fetch_add(items, std::memory_order_relaxed);
}

void Stats::reset() {
  total_.store(0, std::memory_order_relaxed);
  for (auto& counter : endpoints_) counter.store(0, std::memory_order_relaxed);
  batch_items_.store(0, std::memory_order_relaxed);
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    shard.counts = {};  // gives the memory back, not only the entries
  }
  overflow_calls_.store(0, std::memory_order_relaxed);
  distinct_paths_.store(0, std::memory_order_relaxed);
}

std::string Stats::to_json() const {
  std::string out = "{\"total\":";
  out += std::to_string(total_.load(std::memory_order_relaxed));
  out += ",\"endpoints\":{";
  for (std::size_t i = 0; i < endpoint_count; ++i) {
    out += '"';
    out += endpoint_name(static_cast<Endpoint>(i));
    out += "\":";
    out += std::to_string(endpoints_[i].load(std::memory_order_relaxed));
    out += ',';
  }
  out += "\"/process_batch_items\":";
  out += std::to_string(batch_items_.load(std::memory_order_relaxed));
  out += "},\"paths\":{";
  bool first = true;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [path, count] : shard.counts) {
      if (!first) out += ',';
      first = false;
      core::append_json_string(out, path);
      out += ':';
      out += std::to_string(count);
    }
  }
  if (const auto overflow = overflow_calls_.load(std::memory_order_relaxed); overflow != 0) {
    if (!first) out += ',';
    core::append_json_string(out, overflow_key);
    out += ':';
    out += std::to_string(overflow);
  }
  out += "}}";
  return out;
}

}  // namespace levee::mock_upstream
