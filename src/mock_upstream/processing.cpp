#include "mock_upstream/processing.hpp"

#include <simdjson.h>

#include "core/json_string.hpp"

namespace levee::mock_upstream {
namespace {

namespace dom = simdjson::dom;
namespace ondemand = simdjson::ondemand;

// A parser per thread: parsers keep their buffers between calls, which is the point, and are
// not thread-safe.
dom::parser& dom_parser() {
  thread_local dom::parser parser;
  return parser;
}

ondemand::parser& ondemand_parser() {
  thread_local ondemand::parser parser;
  return parser;
}

ProcessOutcome bad_request(std::string_view message) {
  ProcessOutcome outcome;
  outcome.status = 400;
  outcome.body = "{\"error\":";
  core::append_json_string(outcome.body, message);
  outcome.body += '}';
  return outcome;
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view space = " \t\r\n";
  const auto first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

// The DOM pass validates the whole document (on-demand parsing would skip what it is not
// asked for); empty means the item is fine.
std::string check_item(dom::element item) {
  dom::object object;
  if (item.get(object) != simdjson::SUCCESS) return "item is not a JSON object";
  dom::element id;
  if (object["id"].get(id) != simdjson::SUCCESS) return "item has no \"id\"";
  if (id.is<dom::object>() || id.is<dom::array>()) return "\"id\" is not a scalar";
  return {};
}

// The id's raw JSON text; the object has been checked by check_item.
template <typename Object>
simdjson::simdjson_result<std::string_view> raw_id(Object&& object) {
  ondemand::value id;
  if (auto error = object.find_field_unordered("id").get(id)) return error;
  return trim(id.raw_json_token());
}

}  // namespace

ProcessOutcome process_one(std::string_view body) {
  const simdjson::padded_string padded(body);
  dom::element root;
  if (auto error = dom_parser().parse(padded).get(root)) {
    return bad_request(std::string("invalid JSON: ") + simdjson::error_message(error));
  }
  if (auto problem = check_item(root); !problem.empty()) return bad_request(problem);

  ondemand::document document;
  ondemand::object object;
  std::string_view id;
  if (ondemand_parser().iterate(padded).get(document) != simdjson::SUCCESS ||
      document.get_object().get(object) != simdjson::SUCCESS ||
      raw_id(object).get(id) != simdjson::SUCCESS) {
    return bad_request("item has no \"id\"");
  }

  const std::string_view item = trim(body);
  ProcessOutcome outcome;
  outcome.items = 1;
  outcome.body.reserve(id.size() + item.size() + 48);
  outcome.body += "{\"id\":";
  outcome.body += id;
  outcome.body += ",\"result\":\"processed\",\"item\":";
  outcome.body += item;
  outcome.body += '}';
  return outcome;
}

ProcessOutcome process_batch(std::string_view body) {
  const simdjson::padded_string padded(body);
  dom::element root;
  if (auto error = dom_parser().parse(padded).get(root)) {
    return bad_request(std::string("invalid JSON: ") + simdjson::error_message(error));
  }
  dom::array items;
  if (root.get(items) != simdjson::SUCCESS) return bad_request("batch is not a JSON array");
  std::size_t index = 0;
  for (dom::element item : items) {
    if (auto problem = check_item(item); !problem.empty()) {
      return bad_request("item " + std::to_string(index) + ": " + problem);
    }
    ++index;
  }

  ProcessOutcome outcome;
  outcome.body.reserve(index * 40 + 2);
  outcome.body += '[';
  ondemand::document document;
  ondemand::array array;
  if (ondemand_parser().iterate(padded).get(document) != simdjson::SUCCESS ||
      document.get_array().get(array) != simdjson::SUCCESS) {
    return bad_request("batch is not a JSON array");
  }
  index = 0;
  for (auto element : array) {
    ondemand::object object;
    std::string_view id;
    if (element.get_object().get(object) != simdjson::SUCCESS ||
        raw_id(object).get(id) != simdjson::SUCCESS) {
      return bad_request("item " + std::to_string(index) + ": item has no \"id\"");
    }
    if (index != 0) outcome.body += ',';
    outcome.body += "{\"id\":";
    outcome.body += id;
    outcome.body += ",\"result\":\"processed\"}";
    ++index;
  }
  outcome.body += ']';
  outcome.items = index;
  return outcome;
}

}  // namespace levee::mock_upstream
