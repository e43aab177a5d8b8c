#pragma once
// The request side of a batch (DESIGN.md "Batch"): checking one incoming item, the item's id
// for id-mode demultiplexing, and the one upstream body a batch of items becomes. Items are
// spliced into the payload as raw bytes, never re-serialised, so the upstream sees each item
// byte for byte as its client sent it (NDJSON is the one exception: see minify_item).
//
// Pure functions, safe on any thread: each thread keeps its own simdjson parsers and scratch
// buffer. No exceptions: a bad item is an error string, never a throw.
//
// Known limit, shared with levee-upstream: simdjson rejects numbers it cannot represent
// (integers beyond 64 bits, magnitudes beyond a double), so an item carrying one is "not JSON".

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace levee::layers::batch {

enum class PayloadFormat { json_array, ndjson, wrapped };

struct PayloadSpec {
  PayloadFormat format = PayloadFormat::json_array;
  // wrapped only: {"requests"} -> {"requests":[...]}; {"data","requests"} ->
  // {"data":{"requests":[...]}}. Empty: a plain array, as json_array.
  std::vector<std::string> wrap_path;
};

// json_array / wrapped: the items joined by ',' inside '[' ']' (inside the wrapping objects).
// ndjson: each item followed by '\n'; no items -> an empty body. The caller guarantees that no
// ndjson item contains a raw newline (minify_item) and that every item passed check_item.
[[nodiscard]] std::string build_payload(const PayloadSpec& spec,
                                        std::span<const std::string_view> items);

// "application/json", or "application/x-ndjson" for ndjson. Static storage.
[[nodiscard]] std::string_view payload_content_type(PayloadFormat format) noexcept;

// Empty when `item` is one complete JSON value of any type (surrounding whitespace allowed);
// otherwise a message fit for the body of a 400, e.g. "request body is not JSON: ...".
[[nodiscard]] std::string check_item(std::string_view item);

// The item without insignificant whitespace (simdjson::minify), so that it fits on one NDJSON
// line. A raw newline can only be whitespace in valid JSON, so the result never contains one;
// for an item check_item rejected, newlines become spaces and nothing else changes.
[[nodiscard]] std::string minify_item(std::string_view item);

// The id of an item, in id mode: `id` is the value of the item's top-level field `id_field` as
// its raw JSON text with surrounding whitespace trimmed. Strings keep their quotes and escapes,
// numbers their spelling: 1, 1.0 and "1" are three different ids. The field must be a string or
// a number; it is found by its raw key text (simdjson on-demand), so a key written with escapes
// ("\u0069d") is not "id". demux() reads the ids of results by the same rule.
// Exactly one of `id` and `error` is non-empty; `error` is fit for a 400 body.
struct ItemId {
  std::string id;
  std::string error;
};

// Expects an item that check_item accepted (on-demand parsing does not validate what it skips);
// given anything else it never crashes, but may return an id or an error.
[[nodiscard]] ItemId item_id(std::string_view item, std::string_view id_field);

}  // namespace levee::layers::batch
