#include "layers/batch/demux.hpp"

#include <simdjson.h>

#include <cstring>
#include <unordered_map>

#include "core/json_parsers.hpp"
#include "core/json_string.hpp"

namespace levee::layers::batch {
namespace {

namespace dom = simdjson::dom;
namespace ondemand = simdjson::ondemand;

// Past this capacity a thread's parsers are shrunk back after use, so that one outsized
// response does not pin its size (several times the body) in every worker for good.
constexpr std::size_t k_parser_keep = 4 * 1024 * 1024;
// Ids are quoted in error messages up to this many bytes: a message must stay small even when
// a hostile upstream sends a megabyte-long id.
constexpr std::size_t k_quoted_id_max = 64;

struct ShrinkParsersAfterUse {
  ShrinkParsersAfterUse() = default;
  ShrinkParsersAfterUse(const ShrinkParsersAfterUse&) = delete;
  ShrinkParsersAfterUse& operator=(const ShrinkParsersAfterUse&) = delete;
  ~ShrinkParsersAfterUse() {
    // A failed shrink leaves the larger buffers in place, which is still correct.
    if (core::thread_dom_parser().capacity() > k_parser_keep) {
      (void)core::thread_dom_parser().allocate(k_parser_keep);
    }
    if (core::thread_ondemand_parser().capacity() > k_parser_keep) {
      (void)core::thread_ondemand_parser().allocate(k_parser_keep);
    }
  }
};

std::string_view trim(std::string_view text) noexcept {
  constexpr std::string_view space = " \t\r\n";
  const auto first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

void append_quoted_id(std::string& out, std::string_view id) {
  if (id.size() <= k_quoted_id_max) {
    out += id;
    return;
  }
  std::size_t cut = k_quoted_id_max;
  // The body was validated as UTF-8: back off to the start of a character.
  while (cut > 0 && (static_cast<unsigned char>(id[cut]) & 0xC0) == 0x80) --cut;
  out += id.substr(0, cut);
  out += "...";
}

std::string json_quoted(std::string_view text) {
  std::string out;
  core::append_json_string(out, text);
  return out;
}

std::string not_json(simdjson::error_code error) {
  return std::string("batch response is not JSON: ") + simdjson::error_message(error);
}

enum class IdState { absent, found, not_scalar };

// What demux reads inside one result that is an object.
struct Fields {
  IdState id_state = IdState::absent;
  std::string_view id;  // the raw text, as item_id reads it
  bool failed = false;
};

simdjson::error_code read_fields(ondemand::object& object, const DemuxSpec& spec, bool want_id,
                                 Fields& fields) {
  if (want_id) {
    ondemand::value id;
    if (auto error = object.find_field_unordered(spec.id_field).get(id)) {
      if (error != simdjson::NO_SUCH_FIELD) return error;
    } else {
      ondemand::json_type type;
      if (auto error = id.type().get(type)) return error;
      if (type == ondemand::json_type::string || type == ondemand::json_type::number) {
        fields.id_state = IdState::found;
        fields.id = trim(id.raw_json_token());
      } else {
        fields.id_state = IdState::not_scalar;
      }
    }
  }
  if (!spec.error_field.empty()) {
    ondemand::value marker;
    if (auto error = object.find_field_unordered(spec.error_field).get(marker)) {
      if (error != simdjson::NO_SUCH_FIELD) return error;
    } else {
      ondemand::json_type type;
      if (auto error = marker.type().get(type)) return error;
      if (type == ondemand::json_type::boolean) {
        bool value = false;
        if (auto error = marker.get_bool().get(value)) return error;
        fields.failed = value;
      } else {
        fields.failed = type != ondemand::json_type::null;
      }
    }
  }
  return simdjson::SUCCESS;
}

// Places each result at its item's index, by position or by id, and says why when it cannot.
class Placement {
 public:
  Placement(const DemuxSpec& spec, std::size_t item_count, std::span<const std::string> ids,
            DemuxResult& result)
      : spec_(spec), item_count_(item_count), ids_(ids), result_(result) {}

  [[nodiscard]] bool needs_fields() const noexcept {
    return spec_.mode == DemuxMode::id || !spec_.error_field.empty();
  }
  [[nodiscard]] bool wants_id() const noexcept { return spec_.mode == DemuxMode::id; }

  bool start() {
    if (spec_.mode == DemuxMode::position) {
      result_.items.reserve(item_count_);
      return true;
    }
    if (ids_.size() != item_count_) {
      return fail("id mode needs one id per item: " + std::to_string(ids_.size()) + " ids for " +
                  std::to_string(item_count_) + " items");
    }
    result_.items.resize(item_count_);
    filled_.assign(item_count_, false);
    index_of_.reserve(item_count_);
    for (std::size_t i = 0; i < ids_.size(); ++i) {
      if (!index_of_.emplace(ids_[i], i).second) {
        std::string message = "two items in the batch have id ";
        append_quoted_id(message, ids_[i]);
        return fail(std::move(message));
      }
    }
    return true;
  }

  // `result`: the result's index in the response; `fields` is meaningful for objects only.
  bool add(std::size_t result, std::string_view raw, bool is_object, const Fields& fields) {
    if (spec_.mode == DemuxMode::position) {
      // Results past the item count are only counted, for the message finish() writes.
      if (result < item_count_) {
        result_.items.push_back({std::string(raw), is_object && fields.failed});
      }
      return true;
    }
    const auto prefix = [result] { return "result " + std::to_string(result); };
    if (!is_object) {
      return fail(prefix() + " has no " + json_quoted(spec_.id_field) + " (not an object)");
    }
    if (fields.id_state == IdState::absent) {
      return fail(prefix() + " has no " + json_quoted(spec_.id_field));
    }
    if (fields.id_state == IdState::not_scalar) {
      return fail(prefix() + " has an " + json_quoted(spec_.id_field) +
                  " that is not a string or a number");
    }
    const auto it = index_of_.find(fields.id);
    if (it == index_of_.end()) {
      std::string message = prefix() + " has id ";
      append_quoted_id(message, fields.id);
      message += " that no item in the batch has";
      return fail(std::move(message));
    }
    if (filled_[it->second]) {
      std::string message = "two results have id ";
      append_quoted_id(message, fields.id);
      return fail(std::move(message));
    }
    filled_[it->second] = true;
    result_.items[it->second] = {std::string(raw), fields.failed};
    return true;
  }

  bool finish(std::size_t result_count) {
    if (spec_.mode == DemuxMode::position) {
      if (result_count == item_count_) return true;
      return fail("batch response has " + std::to_string(result_count) + " results for " +
                  std::to_string(item_count_) + " items");
    }
    for (std::size_t i = 0; i < item_count_; ++i) {
      if (filled_[i]) continue;
      std::string message = "no result for item id ";
      append_quoted_id(message, ids_[i]);
      return fail(std::move(message));
    }
    return true;
  }

  bool fail(std::string message) {
    result_.error = std::move(message);
    return false;
  }

 private:
  const DemuxSpec& spec_;
  std::size_t item_count_;
  std::span<const std::string> ids_;
  DemuxResult& result_;
  std::vector<bool> filled_;
  std::unordered_map<std::string_view, std::size_t> index_of_;
};

std::string no_array_at(std::span<const std::string> path) {
  if (path.empty()) return "batch response is not a JSON array";
  std::string joined;
  for (const std::string& key : path) {
    if (!joined.empty()) joined += '.';
    joined += key;
  }
  return "batch response has no array at " + json_quoted(joined);
}

simdjson::error_code find_results(ondemand::document& document, std::span<const std::string> path,
                                  ondemand::array& array) {
  if (path.empty()) return document.get_array().get(array);
  ondemand::object object;
  if (auto error = document.get_object().get(object)) return error;
  ondemand::value value;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (i != 0) {
      if (auto error = value.get_object().get(object)) return error;
    }
    if (auto error = object.find_field_unordered(path[i]).get(value)) return error;
  }
  return value.get_array().get(array);
}

// One element of the results array: its raw text and, for an object, its fields.
simdjson::error_code read_element(ondemand::value& element, Placement& placement,
                                  const DemuxSpec& spec, std::string_view& raw, bool& is_object,
                                  Fields& fields) {
  ondemand::json_type type;
  if (auto error = element.type().get(type)) return error;
  is_object = type == ondemand::json_type::object;
  if (is_object) {
    ondemand::object object;
    if (auto error = element.get_object().get(object)) return error;
    if (placement.needs_fields()) {
      if (auto error = read_fields(object, spec, placement.wants_id(), fields)) return error;
      // raw_json() spans from the opening brace whatever was read, but consumes from where
      // the field lookups stopped; back at the start it walks the object as a whole.
      if (auto error = object.reset().error()) return error;
    }
    return object.raw_json().get(raw);
  }
  if (type == ondemand::json_type::array) {
    ondemand::array array;
    if (auto error = element.get_array().get(array)) return error;
    return array.raw_json().get(raw);
  }
  // A scalar is a single token; the array iteration skips it.
  raw = element.raw_json_token();
  return simdjson::SUCCESS;
}

void demux_json(const DemuxSpec& spec, std::string_view body, Placement& placement) {
  const simdjson::padded_string padded(body);
  // The DOM pass validates every byte; the on-demand pass below then only cuts.
  dom::element root;
  if (auto error = core::thread_dom_parser().parse(padded).get(root)) {
    placement.fail(not_json(error));
    return;
  }
  ondemand::document document;
  if (auto error = core::thread_ondemand_parser().iterate(padded).get(document)) {
    placement.fail(not_json(error));
    return;
  }
  ondemand::array array;
  if (find_results(document, spec.results_path, array) != simdjson::SUCCESS) {
    placement.fail(no_array_at(spec.results_path));
    return;
  }
  std::size_t index = 0;
  for (auto element_result : array) {
    ondemand::value element;
    std::string_view raw;
    bool is_object = false;
    Fields fields;
    if (auto error = element_result.get(element)) {
      placement.fail(not_json(error));
      return;
    }
    if (auto error = read_element(element, placement, spec, raw, is_object, fields)) {
      placement.fail(not_json(error));
      return;
    }
    if (!placement.add(index, trim(raw), is_object, fields)) return;
    ++index;
  }
  placement.finish(index);
}

void demux_ndjson(const DemuxSpec& spec, std::string_view body, Placement& placement) {
  const simdjson::padded_string padded(body);
  const char* const begin = padded.data();
  const char* const end = begin + body.size();
  std::size_t line_number = 0;
  std::size_t index = 0;
  for (const char* cursor = begin; cursor < end;) {
    ++line_number;
    const void* newline = std::memchr(cursor, '\n', static_cast<std::size_t>(end - cursor));
    const char* line_end = newline != nullptr ? static_cast<const char*>(newline) : end;
    const std::string_view line = trim(std::string_view(cursor, line_end - cursor));
    cursor = line_end + 1;
    if (line.empty()) continue;

    // The line sits inside the padded copy, so the padding the parsers read past its end is
    // there (the following lines, then the copy's own padding): no copy per line.
    const auto fail_line = [&](simdjson::error_code error) {
      placement.fail("batch response is not JSON: line " + std::to_string(line_number) + ": " +
                     simdjson::error_message(error));
    };
    dom::element root;
    if (auto error = core::thread_dom_parser().parse(line.data(), line.size(), false).get(root)) {
      fail_line(error);
      return;
    }
    const bool is_object = line.front() == '{';
    Fields fields;
    if (is_object && placement.needs_fields()) {
      const auto capacity =
          static_cast<std::size_t>(end - line.data()) + simdjson::SIMDJSON_PADDING;
      ondemand::document document;
      ondemand::object object;
      simdjson::error_code error =
          core::thread_ondemand_parser().iterate(line.data(), line.size(), capacity).get(document);
      if (!error) error = document.get_object().get(object);
      if (!error) error = read_fields(object, spec, placement.wants_id(), fields);
      if (error) {
        fail_line(error);
        return;
      }
    }
    if (!placement.add(index, line, is_object, fields)) return;
    ++index;
  }
  placement.finish(index);
}

}  // namespace

DemuxResult demux(const DemuxSpec& spec, std::string_view body, std::size_t item_count,
                  std::span<const std::string> ids) {
  DemuxResult result;
  Placement placement(spec, item_count, ids, result);
  if (placement.start()) {
    const ShrinkParsersAfterUse shrink;
    if (spec.format == ResponseFormat::ndjson) {
      demux_ndjson(spec, body, placement);
    } else {
      demux_json(spec, body, placement);
    }
  }
  if (!result.error.empty()) result.items.clear();
  return result;
}

}  // namespace levee::layers::batch
