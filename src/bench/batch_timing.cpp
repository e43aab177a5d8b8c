#include "bench/batch_timing.hpp"

#include <charconv>

namespace levee::bench {
namespace {

std::string_view trimmed(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<std::uint64_t> unsigned_number(std::string_view text) noexcept {
  std::uint64_t number = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || result.ec != std::errc{} || result.ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return number;
}

}  // namespace

std::optional<BatchTiming> parse_batch_timing(std::string_view value) noexcept {
  // A microsecond count this large (about 31 years) is not a timing; it would also overflow
  // the sum in batch_overhead.
  constexpr std::uint64_t k_max_us = std::uint64_t{1} << 50;
  BatchTiming timing;
  bool waited = false;
  bool upstream = false;
  bool items = false;
  while (!value.empty()) {
    const std::size_t semicolon = value.find(';');
    const std::string_view pair = trimmed(value.substr(0, semicolon));
    value = semicolon == std::string_view::npos ? std::string_view{} : value.substr(semicolon + 1);
    if (pair.empty()) continue;
    const std::size_t equals = pair.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    const std::string_view key = trimmed(pair.substr(0, equals));
    const std::optional<std::uint64_t> number = unsigned_number(trimmed(pair.substr(equals + 1)));
    bool* seen = key == "waited_us"     ? &waited
                 : key == "upstream_us" ? &upstream
                 : key == "items"       ? &items
                                        : nullptr;
    if (seen == nullptr) continue;
    if (*seen || !number || *number > k_max_us) return std::nullopt;
    *seen = true;
    if (seen == &waited) {
      timing.waited = std::chrono::microseconds(*number);
    } else if (seen == &upstream) {
      timing.upstream = std::chrono::microseconds(*number);
    } else {
      timing.items = *number;
    }
  }
  if (!waited || !upstream) return std::nullopt;
  return timing;
}

std::chrono::nanoseconds batch_overhead(std::chrono::nanoseconds latency,
                                        const BatchTiming& timing) noexcept {
  const std::chrono::nanoseconds inside = timing.waited + timing.upstream;
  return latency > inside ? latency - inside : std::chrono::nanoseconds{0};
}

}  // namespace levee::bench
