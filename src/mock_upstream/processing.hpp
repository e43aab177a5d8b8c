#pragma once
// The work behind /process and /process_batch: validate the JSON body and build the answer
// with every id copied as raw JSON text (never re-serialised, so `1.0`, `"a\u00e9"` and big
// integers come back byte for byte, as levee's batch demuxer expects). Pure functions, safe
// on any thread (each thread keeps its own parsers).
//
// /process_batch speaks the three payload formats of levee's batch layer and answers in kind:
//   JSON array            [{"id":1},...]              -> [{"id":1,"result":"processed"},...]
//   wrapped               {"requests":[{"id":1},...]} -> {"results":[...]}
//   NDJSON, one per line  {"id":1}\n{"id":2}\n        -> {"id":1,"result":"processed"}\n...
// NDJSON is recognised by Content-Type application/x-ndjson, or, without it, by a body that is
// not one JSON document, starts with '{' and has more than one line. Blank lines are skipped.
//
// Failures on demand, for integration tests: an item may carry "mock":"<mode>". The first item
// that has one picks the mode of the whole batch:
//   "fail_item"   no batch-wide effect (the per-item rule below still applies)
//   "status_500"  the batch answers 500 {"error":"mock status_500"}
//   "status_503"  the batch answers 503 {"error":"mock status_503"} with Retry-After: 7
//   "not_json"    the batch answers 200 with the body `not json`
//   "short"       the last result is left out
//   "dup_id"      the last result carries the first result's id
//   "unknown_id"  the last result's id becomes the string "unknown-<id>" (quotes of a string id
//                 dropped: 7 -> "unknown-7", "a" -> "unknown-a")
//   "reverse"     results in reverse order (for id-mode demultiplexing)
// and, whatever the mode, every item whose own "mock" is "fail_item" gets
// {"id":<id>,"error":"item rejected"} in place of its result. Any other "mock" value is a 400.
// ProcessOutcome::items counts the items of every well-formed batch, injected failures
// included, so /__stats' "/process_batch_items" counts what reached the upstream.

#include <cstddef>
#include <string>
#include <string_view>

namespace levee::mock_upstream {

struct ProcessOutcome {
  int status = 200;  // 200, 400 with body {"error":"..."}, or 500 on demand (see above)
  std::string body;
  std::string_view content_type = "application/json";  // static storage
  std::size_t items = 0;             // items received in a well-formed batch; 0 when rejected (400)
  unsigned retry_after_seconds = 0;  // status_503: sent as Retry-After; 0 = no header
};

// One JSON object with an "id" scalar -> {"id":<id>,"result":"processed","item":<item>}.
[[nodiscard]] ProcessOutcome process_one(std::string_view body);

// A batch of such objects (JSON array, wrapped or NDJSON) -> one result per item, in the same
// order and format. `content_type`: the request's Content-Type header value, empty if absent.
[[nodiscard]] ProcessOutcome process_batch(std::string_view body,
                                           std::string_view content_type = {});

}  // namespace levee::mock_upstream
