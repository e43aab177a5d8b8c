#pragma once
// One simdjson parser of each kind per thread, shared by everything on that thread that
// parses JSON (the batch layer's item checks and demuxer, levee-upstream's processing).
// Parsers keep their buffers between calls, which is the point, and are not thread-safe: use
// one only on its own thread and never across a suspension point.

#include <simdjson.h>

namespace levee::core {

[[nodiscard]] simdjson::dom::parser& thread_dom_parser();
[[nodiscard]] simdjson::ondemand::parser& thread_ondemand_parser();

}  // namespace levee::core
