#pragma once
// The work behind /process and /process_batch: validate the JSON body and build the answer
// with every id copied as raw JSON text (never re-serialised, so `1.0`, `"a\u00e9"` and big
// integers come back byte for byte, as levee's batch demuxer expects). Pure functions, safe
// on any thread (each thread keeps its own parsers).

#include <cstddef>
#include <string>
#include <string_view>

namespace levee::mock_upstream {

struct ProcessOutcome {
  int status = 200;  // 200, or 400 with body {"error":"..."}
  std::string body;
  std::size_t items = 0;  // items processed (the batch length on success)
};

// One JSON object with an "id" scalar -> {"id":<id>,"result":"processed","item":<item>}.
[[nodiscard]] ProcessOutcome process_one(std::string_view body);

// A JSON array of such objects -> [{"id":<id>,"result":"processed"}, ...] in the same order.
[[nodiscard]] ProcessOutcome process_batch(std::string_view body);

}  // namespace levee::mock_upstream
