// Arbitrary bytes as an upstream's batch response (and as a client's item): demux must either
// hand back exactly one valid JSON element per item or say why it cannot, never crash, hang or
// return half a result. The first byte picks the spec, so one corpus covers every mode.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "layers/batch/demux.hpp"
#include "layers/batch/payload.hpp"

namespace {

namespace batch = levee::layers::batch;

void require(bool condition) {
  if (!condition) std::abort();
}

void check_payload_helpers(std::string_view text) {
  const std::string minified = batch::minify_item(text);
  require(minified.find_first_of("\r\n") == std::string::npos);
  const bool valid = batch::check_item(text).empty();
  // Minifying valid JSON keeps it valid: the NDJSON payload relies on it.
  if (valid) require(batch::check_item(minified).empty());
  const batch::ItemId id = batch::item_id(text, "id");
  require(id.id.empty() != id.error.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  batch::DemuxSpec spec;
  spec.format = (selector & 1) != 0 ? batch::ResponseFormat::ndjson : batch::ResponseFormat::json;
  spec.mode = (selector & 2) != 0 ? batch::DemuxMode::id : batch::DemuxMode::position;
  if ((selector & 4) != 0) spec.results_path = {"results"};
  if ((selector & 8) != 0) spec.error_field = "error";
  const std::size_t item_count = (selector >> 4) % 8;
  // Ids as item_id spells them: numbers 1..n, every other one a string instead.
  std::vector<std::string> ids;
  for (std::size_t i = 1; i <= item_count; ++i) {
    ids.push_back(i % 2 == 0 ? "\"" + std::to_string(i) + "\"" : std::to_string(i));
  }

  const batch::DemuxResult result = batch::demux(spec, body, item_count, ids);
  if (result.error.empty()) {
    require(result.items.size() == item_count);
    for (const batch::DemuxedItem& item : result.items) {
      require(batch::check_item(item.body).empty());
      if (spec.format == batch::ResponseFormat::ndjson) {
        require(item.body.find('\n') == std::string::npos);
      }
    }
  } else {
    require(result.items.empty());
  }

  check_payload_helpers(body);
  return 0;
}
