#pragma once
// The little JSON writing levee-upstream needs: string escaping. Pure functions.

#include <string>
#include <string_view>

namespace levee::mock_upstream {

// Appends `text` as a quoted JSON string. Valid UTF-8 passes through; control characters are
// escaped; bytes of invalid UTF-8 are written as \u00XX (read as Latin-1) so that the output
// is always valid JSON, whatever the request carried.
void append_json_string(std::string& out, std::string_view text);

}  // namespace levee::mock_upstream
