#include "mock_upstream/processing.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <utility>
#include <vector>

#include "core/json_parsers.hpp"
#include "core/json_string.hpp"

namespace levee::mock_upstream {
namespace {

namespace dom = simdjson::dom;
namespace ondemand = simdjson::ondemand;

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

enum class MockMode {
  none,
  fail_item,
  status_500,
  status_503,
  not_json,
  short_batch,
  dup_id,
  unknown_id,
  reverse
};

std::optional<MockMode> parse_mode(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, MockMode>, 8> modes{{
      {"fail_item", MockMode::fail_item},
      {"status_500", MockMode::status_500},
      {"status_503", MockMode::status_503},
      {"not_json", MockMode::not_json},
      {"short", MockMode::short_batch},
      {"dup_id", MockMode::dup_id},
      {"unknown_id", MockMode::unknown_id},
      {"reverse", MockMode::reverse},
  }};
  for (const auto& [text, mode] : modes) {
    if (text == name) return mode;
  }
  return std::nullopt;
}

enum class Shape { array, wrapped, ndjson };

struct BatchItem {
  std::string_view id;  // raw JSON text, a view into the request's padded copy
  bool fail = false;
};

struct Batch {
  Shape shape = Shape::array;
  MockMode mode = MockMode::none;
  std::vector<BatchItem> items;
  std::string problem;  // set when a read_* function returns false
};

bool reject(Batch& batch, std::size_t index, std::string_view problem) {
  batch.problem = "item " + std::to_string(index) + ": " + std::string(problem);
  return false;
}

// Validates one item (DOM) and applies its "mock" field; the id comes later, from the
// on-demand pass, which is what can give its raw text.
bool inspect_item(dom::element item, std::size_t index, Batch& batch) {
  if (auto problem = check_item(item); !problem.empty()) return reject(batch, index, problem);
  dom::element mock;
  bool fail = false;
  if (item["mock"].get(mock) == simdjson::SUCCESS) {
    std::string_view name;
    if (mock.get(name) != simdjson::SUCCESS) {
      return reject(batch, index, "\"mock\" is not a string");
    }
    const auto mode = parse_mode(name);
    if (!mode) {
      std::string problem = "unknown \"mock\" value ";
      core::append_json_string(problem, name);
      return reject(batch, index, problem);
    }
    // The first item with a "mock" field decides for the whole batch.
    if (batch.mode == MockMode::none) batch.mode = *mode;
    fail = *mode == MockMode::fail_item;
  }
  batch.items.push_back({{}, fail});
  return true;
}

bool is_ndjson(std::string_view content_type) {
  const std::string_view media = trim(content_type.substr(0, content_type.find(';')));
  constexpr std::string_view ndjson = "application/x-ndjson";
  return media.size() == ndjson.size() &&
         std::equal(media.begin(), media.end(), ndjson.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

// Without a Content-Type: a body that is not one JSON document, starts with '{' and has a
// second non-blank line.
bool looks_like_ndjson(std::string_view body) {
  const std::string_view text = trim(body);
  return text.starts_with('{') && text.find('\n') != std::string_view::npos;
}

// A JSON array of items, or {"requests":[...]}; `root` has been parsed from `padded`.
bool read_document(dom::element root, const simdjson::padded_string& padded, Batch& batch) {
  dom::array items;
  if (root.get(items) == simdjson::SUCCESS) {
    batch.shape = Shape::array;
  } else if (root["requests"].get(items) == simdjson::SUCCESS) {
    batch.shape = Shape::wrapped;
  } else {
    batch.problem = "batch is not a JSON array, {\"requests\":[...]} or NDJSON";
    return false;
  }
  std::size_t index = 0;
  for (dom::element item : items) {
    if (!inspect_item(item, index, batch)) return false;
    ++index;
  }

  ondemand::document document;
  ondemand::array array;
  simdjson::error_code error = core::thread_ondemand_parser().iterate(padded).get(document);
  if (!error && batch.shape == Shape::array) error = document.get_array().get(array);
  if (!error && batch.shape == Shape::wrapped) {
    ondemand::object object;
    error = document.get_object().get(object);
    if (!error) error = object.find_field_unordered("requests").get_array().get(array);
  }
  if (error) {
    batch.problem = "batch is not a JSON array";
    return false;
  }
  index = 0;
  for (auto element : array) {
    ondemand::object object;
    std::string_view id;
    if (index >= batch.items.size() || element.get_object().get(object) != simdjson::SUCCESS ||
        raw_id(object).get(id) != simdjson::SUCCESS) {
      return reject(batch, index, "item has no \"id\"");
    }
    batch.items[index].id = id;
    ++index;
  }
  return true;
}

// One item per non-blank line. Each line is parsed in place: it sits inside the padded copy,
// so the padding the parsers read past its end is there.
bool read_ndjson(const simdjson::padded_string& padded, Batch& batch) {
  batch.shape = Shape::ndjson;
  const std::string_view text(padded.data(), padded.size());
  std::size_t index = 0;
  for (std::size_t cursor = 0; cursor < text.size();) {
    const std::size_t newline = std::min(text.find('\n', cursor), text.size());
    const std::string_view line = trim(text.substr(cursor, newline - cursor));
    cursor = newline + 1;
    if (line.empty()) continue;
    dom::element root;
    if (auto error = core::thread_dom_parser().parse(line.data(), line.size(), false).get(root)) {
      return reject(batch, index, std::string("invalid JSON: ") + simdjson::error_message(error));
    }
    if (!inspect_item(root, index, batch)) return false;
    const std::size_t capacity = padded.size() + simdjson::SIMDJSON_PADDING -
                                 static_cast<std::size_t>(line.data() - padded.data());
    ondemand::document document;
    ondemand::object object;
    std::string_view id;
    if (core::thread_ondemand_parser().iterate(line.data(), line.size(), capacity).get(document) !=
            simdjson::SUCCESS ||
        document.get_object().get(object) != simdjson::SUCCESS ||
        raw_id(object).get(id) != simdjson::SUCCESS) {
      return reject(batch, index, "item has no \"id\"");
    }
    batch.items[index].id = id;
    ++index;
  }
  return true;
}

void append_result(std::string& out, const BatchItem& item) {
  out += "{\"id\":";
  out += item.id;
  out += item.fail ? ",\"error\":\"item rejected\"}" : ",\"result\":\"processed\"}";
}

ProcessOutcome answer(Batch batch) {
  ProcessOutcome outcome;
  outcome.items = batch.items.size();
  std::vector<BatchItem>& results = batch.items;
  std::string unknown_id;  // owns the id "unknown_id" puts in place
  switch (batch.mode) {
    case MockMode::status_500:
      outcome.status = 500;
      outcome.body = "{\"error\":\"mock status_500\"}";
      return outcome;
    case MockMode::status_503:
      outcome.status = 503;
      outcome.body = "{\"error\":\"mock status_503\"}";
      outcome.retry_after_seconds = 7;
      return outcome;
    case MockMode::not_json:
      outcome.body = "not json";
      return outcome;
    case MockMode::short_batch:
      if (!results.empty()) results.pop_back();
      break;
    case MockMode::dup_id:
      if (!results.empty()) results.back().id = results.front().id;
      break;
    case MockMode::unknown_id:
      if (!results.empty()) {
        std::string_view id = results.back().id;
        if (id.size() >= 2 && id.front() == '"') id = id.substr(1, id.size() - 2);
        // The id is valid JSON, so the inside of a string id is already escaped as JSON needs.
        unknown_id = "\"unknown-" + std::string(id) + "\"";
        results.back().id = unknown_id;
      }
      break;
    case MockMode::reverse:
      std::reverse(results.begin(), results.end());
      break;
    case MockMode::none:
    case MockMode::fail_item:
      break;
  }

  outcome.body.reserve(results.size() * 40 + 16);
  if (batch.shape == Shape::ndjson) {
    outcome.content_type = "application/x-ndjson";
    for (const BatchItem& item : results) {
      append_result(outcome.body, item);
      outcome.body += '\n';
    }
    return outcome;
  }
  outcome.body += batch.shape == Shape::wrapped ? "{\"results\":[" : "[";
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i != 0) outcome.body += ',';
    append_result(outcome.body, results[i]);
  }
  outcome.body += batch.shape == Shape::wrapped ? "]}" : "]";
  return outcome;
}

}  // namespace

ProcessOutcome process_one(std::string_view body) {
  const simdjson::padded_string padded(body);
  dom::element root;
  if (auto error = core::thread_dom_parser().parse(padded).get(root)) {
    return bad_request(std::string("invalid JSON: ") + simdjson::error_message(error));
  }
  if (auto problem = check_item(root); !problem.empty()) return bad_request(problem);

  ondemand::document document;
  ondemand::object object;
  std::string_view id;
  if (core::thread_ondemand_parser().iterate(padded).get(document) != simdjson::SUCCESS ||
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

ProcessOutcome process_batch(std::string_view body, std::string_view content_type) {
  const simdjson::padded_string padded(body);
  Batch batch;
  bool parsed = false;
  if (is_ndjson(content_type)) {
    parsed = read_ndjson(padded, batch);
  } else {
    dom::element root;
    if (auto error = core::thread_dom_parser().parse(padded).get(root)) {
      if (!looks_like_ndjson(body)) {
        return bad_request(std::string("invalid JSON: ") + simdjson::error_message(error));
      }
      parsed = read_ndjson(padded, batch);
    } else {
      parsed = read_document(root, padded, batch);
    }
  }
  if (!parsed) return bad_request(batch.problem);
  return answer(std::move(batch));
}

}  // namespace levee::mock_upstream
