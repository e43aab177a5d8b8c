#pragma once
// The units configuration values carry: durations ("250us", "50ms", "1.5s", "1m", "1h") and
// byte sizes (plain bytes, "512B", "64KiB", "10MB"). Pure functions, callable from any
// thread; parsing never throws and returns nullopt for anything it does not accept.
//
// Durations: a non-negative decimal number (at most 9 fractional digits) followed by one of
// ns, us, ms, s, m, h; "0" alone is the only unitless duration. Sizes: a non-negative integer,
// optionally followed by B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of
// 1024). Values that do not fit (Duration's int64 nanoseconds, uint64 bytes) are rejected.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace levee::config {

[[nodiscard]] std::optional<Duration> parse_duration(std::string_view text) noexcept;
[[nodiscard]] std::optional<std::uint64_t> parse_size(std::string_view text) noexcept;

// The largest unit that represents `duration` exactly: "50ms", "2s", "1500ms", "0s".
[[nodiscard]] std::string format_duration(Duration duration);
// The largest unit that represents `bytes` exactly: "16KiB", "10MB", "1000B".
[[nodiscard]] std::string format_size(std::uint64_t bytes);

}  // namespace levee::config
