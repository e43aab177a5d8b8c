#pragma once
// What the shared tier keeps under a primary key whose answer varies (DESIGN.md "Cache and
// circuit breaker"): the answer's Vary names, so that another instance can compute the
// request's variant key and fetch the answer stored under it. An answer without Vary is
// stored under the primary key itself (cached_response.hpp's encoding), so one GET finds it.
// Pure functions, any thread; parse() takes bytes from Redis, so it trusts nothing.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace levee::layers::cache {

inline constexpr std::string_view k_vary_record_magic = "LVVY1\n";

// `names`: lower-cased, sorted, unique (VaryNames::names).
[[nodiscard]] std::string encode_vary_record(const std::vector<std::string>& names);
[[nodiscard]] bool is_vary_record(std::string_view bytes) noexcept;
// The names, or nullopt when the record is malformed (not a record, an empty, overlong or
// non-token name, more than k_max_vary_names names, not sorted and unique).
[[nodiscard]] std::optional<std::vector<std::string>> parse_vary_record(std::string_view bytes);

}  // namespace levee::layers::cache
