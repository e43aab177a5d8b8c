#pragma once
// JSON string escaping for what levee writes by hand (access log, stats, the mock upstream).
// Pure functions.

#include <string>
#include <string_view>

namespace levee::core {

// Appends `text` as a quoted JSON string. Valid UTF-8 passes through; control characters are
// escaped; bytes of invalid UTF-8 are written as \u00XX (read as Latin-1) so that the output
// is always valid JSON, whatever the request carried.
void append_json_string(std::string& out, std::string_view text);

}  // namespace levee::core
