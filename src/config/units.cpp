#include "config/units.hpp"

#include <array>
#include <charconv>
#include <limits>

namespace levee::config {
namespace {

struct Unit {
  std::string_view suffix;
  std::uint64_t scale;
};

constexpr std::uint64_t ns_per_s = 1'000'000'000;

// Largest first: format_duration picks the first that divides exactly.
constexpr std::array<Unit, 6> duration_units{{
    {"h", 3600 * ns_per_s},
    {"m", 60 * ns_per_s},
    {"s", ns_per_s},
    {"ms", 1'000'000},
    {"us", 1'000},
    {"ns", 1},
}};

constexpr std::array<Unit, 9> size_units{{
    {"TiB", 1ull << 40},
    {"GiB", 1ull << 30},
    {"MiB", 1ull << 20},
    {"KiB", 1ull << 10},
    {"TB", 1'000'000'000'000},
    {"GB", 1'000'000'000},
    {"MB", 1'000'000},
    {"KB", 1'000},
    {"B", 1},
}};

constexpr std::size_t max_fraction_digits = 9;

template <std::size_t N>
std::optional<std::uint64_t> scale_of(const std::array<Unit, N>& units, std::string_view suffix) {
  for (const Unit& unit : units) {
    if (unit.suffix == suffix) return unit.scale;
  }
  return std::nullopt;
}

// Reads the leading decimal digits of `text` (no sign, no whitespace) and removes them.
std::optional<std::uint64_t> take_integer(std::string_view& text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{}) return std::nullopt;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return value;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) noexcept {
  if (text == "0") return Duration::zero();
  const auto whole = take_integer(text);
  if (!whole) return std::nullopt;

  std::uint64_t fraction = 0;
  std::uint64_t fraction_scale = 1;  // 10^(number of fractional digits)
  if (!text.empty() && text.front() == '.') {
    text.remove_prefix(1);
    std::size_t digits = 0;
    while (digits < text.size() && is_digit(text[digits])) {
      fraction = fraction * 10 + static_cast<std::uint64_t>(text[digits] - '0');
      fraction_scale *= 10;
      if (++digits > max_fraction_digits) return std::nullopt;
    }
    if (digits == 0) return std::nullopt;
    text.remove_prefix(digits);
  }

  const auto scale = scale_of(duration_units, text);
  if (!scale) return std::nullopt;

  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<Duration::rep>::max());
  if (*whole > max / *scale) return std::nullopt;
  // Split so that neither product can overflow: scale % fraction_scale < 10^9 and
  // fraction < 10^9.
  const std::uint64_t fraction_ns =
      (*scale / fraction_scale) * fraction + (*scale % fraction_scale) * fraction / fraction_scale;
  const std::uint64_t whole_ns = *whole * *scale;
  if (fraction_ns > max - whole_ns) return std::nullopt;
  return Duration{static_cast<Duration::rep>(whole_ns + fraction_ns)};
}

std::optional<std::uint64_t> parse_size(std::string_view text) noexcept {
  const auto count = take_integer(text);
  if (!count) return std::nullopt;
  if (text.empty()) return count;
  const auto scale = scale_of(size_units, text);
  if (!scale) return std::nullopt;
  if (*count > std::numeric_limits<std::uint64_t>::max() / *scale) return std::nullopt;
  return *count * *scale;
}

std::string format_duration(Duration duration) {
  const auto count = duration.count();
  if (count == 0) return "0s";
  // Negate in unsigned arithmetic so that the minimum value does not overflow.
  const std::uint64_t magnitude =
      count < 0 ? 0 - static_cast<std::uint64_t>(count) : static_cast<std::uint64_t>(count);
  std::string sign = count < 0 ? "-" : "";
  for (const Unit& unit : duration_units) {
    if (magnitude % unit.scale == 0) {
      return sign + std::to_string(magnitude / unit.scale) + std::string(unit.suffix);
    }
  }
  return sign + std::to_string(magnitude) + "ns";  // not reached: "ns" divides everything
}

std::string format_size(std::uint64_t bytes) {
  if (bytes == 0) return "0B";
  for (const Unit& unit : size_units) {
    if (bytes % unit.scale == 0) {
      return std::to_string(bytes / unit.scale) + std::string(unit.suffix);
    }
  }
  return std::to_string(bytes) + "B";  // not reached: "B" divides everything
}

}  // namespace levee::config
