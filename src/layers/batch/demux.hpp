#pragma once
// The response side of a batch (DESIGN.md "Batch"): one upstream response body cut into one
// result per item of the batch, in batch order. Each result is the upstream's element as raw
// bytes (surrounding whitespace trimmed), never re-serialised, so a caller gets exactly what
// the upstream wrote for it: `1.50` stays `1.50`, `"caf\u00e9"` keeps its escape.
//
// A response that cannot be demultiplexed (not JSON, wrong count, missing or unknown ids) is a
// whole-batch error, DemuxResult::error, which says why; the layer fails every member with it
// (502). An element the upstream marks as failed (`error_field`) fails only its own caller.
//
// Cost: the body is validated once by simdjson's DOM parser (which on-demand parsing would not
// do for the parts it skips) and cut once by an on-demand pass over the same padded copy; no
// element is parsed again on its own. Memory is O(body size) whatever the body holds: nesting
// deeper than simdjson's 1024 levels is rejected, error messages quote ids only in part.
// NDJSON is one document per line, so there each line is parsed on its own, once.
//
// Pure function, safe on any thread (each thread keeps its own parsers). No exceptions.
// Known limit, shared with levee-upstream: simdjson rejects numbers it cannot represent
// (integers beyond 64 bits, magnitudes beyond a double), so such a body is "not JSON".

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace levee::layers::batch {

enum class ResponseFormat { json, ndjson };
enum class DemuxMode { position, id };

struct DemuxSpec {
  // ndjson: one result per line; blank lines are skipped, the last newline is optional.
  ResponseFormat format = ResponseFormat::json;
  // position: result i belongs to item i. id: each result carries its item's id.
  DemuxMode mode = DemuxMode::position;
  // json only: the keys leading to the results array; empty = the body is the array,
  // {"results"} = {"results":[...]}. Keys are matched by their raw text, as in item_id.
  std::vector<std::string> results_path;
  // id mode: the results' id field, read as item_id reads it from items.
  std::string id_field = "id";
  // Empty: no per-item failure marker. Else an element that is an object whose field of this
  // name is present and neither null nor false is a per-item failure.
  std::string error_field;
};

struct DemuxedItem {
  std::string body;  // the element's raw JSON text, trimmed
  bool failed = false;
};

struct DemuxResult {
  // In batch (request) order, one per item; empty when `error` is set.
  std::vector<DemuxedItem> items;
  // Non-empty: the whole response cannot be demultiplexed. Results are counted from 0, NDJSON
  // lines from 1. E.g. "batch response is not JSON: ...", "batch response has 99 results for
  // 100 items", "batch response has no array at \"results\"", "result 3 has no \"id\"",
  // "result 7 has id 12 that no item in the batch has", "two results have id 5",
  // "no result for item id 9".
  std::string error;
};

// `ids`: id mode only, the ItemId::id of each item in batch order; the caller keeps them unique
// within a batch (a duplicate, or a count other than item_count, is reported as an error).
[[nodiscard]] DemuxResult demux(const DemuxSpec& spec, std::string_view body,
                                std::size_t item_count, std::span<const std::string> ids = {});

}  // namespace levee::layers::batch
