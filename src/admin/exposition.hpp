#pragma once
// Building blocks of the Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): name rules, escaping and
// number formatting. Pure functions on caller-owned strings; safe from any thread.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace levee::admin {

// Content-Type of a /metrics response in this format.
inline constexpr std::string_view k_exposition_content_type = "text/plain; version=0.0.4";

// [a-zA-Z_:][a-zA-Z0-9_:]*
[[nodiscard]] bool is_valid_metric_name(std::string_view name) noexcept;
// [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__" (reserved for Prometheus itself).
[[nodiscard]] bool is_valid_label_name(std::string_view name) noexcept;

// HELP text escapes backslash and newline only (quotes stay as they are).
void append_help_escaped(std::string& out, std::string_view help);
// Label values escape backslash, double quote and newline.
void append_label_value_escaped(std::string& out, std::string_view value);

// Shortest round-trip form, in the style of Go's strconv.FormatFloat(v, 'g', -1, 64) that
// the official clients use ("0.005", "100000", "1e+06"), with "NaN", "+Inf" and "-Inf".
void append_double(std::string& out, double v);
void append_uint(std::string& out, std::uint64_t v);
void append_int(std::string& out, std::int64_t v);

// Appends `{n1="v1",n2="v2",extra_name="extra_value"}`, or nothing when there is no label at
// all. names and values have the same size; extra_name may be empty (no extra label).
void append_labels(std::string& out, std::span<const std::string> names,
                   std::span<const std::string> values, std::string_view extra_name = {},
                   std::string_view extra_value = {});

}  // namespace levee::admin
