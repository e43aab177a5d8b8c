#include "layers/batch/payload.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstddef>

#include "core/json_parsers.hpp"
#include "core/json_string.hpp"

namespace levee::layers::batch {
namespace {

namespace dom = simdjson::dom;
namespace ondemand = simdjson::ondemand;

// A thread's scratch buffer keeps at most this much capacity between calls, so that one huge
// item does not pin its size in every worker for the life of the process.
constexpr std::size_t k_scratch_keep = 1024 * 1024;

// The item copied into a per-thread buffer with simdjson's padding after it: items are views
// into request bodies that have none, and a reused buffer costs no allocation per item.
class PaddedCopy {
 public:
  explicit PaddedCopy(std::string_view text) : buffer_(scratch()) {
    buffer_.reserve(text.size() + simdjson::SIMDJSON_PADDING);
    buffer_.assign(text);
  }
  ~PaddedCopy() {
    if (buffer_.capacity() > k_scratch_keep) std::string().swap(buffer_);
  }
  PaddedCopy(const PaddedCopy&) = delete;
  PaddedCopy& operator=(const PaddedCopy&) = delete;

  [[nodiscard]] simdjson::padded_string_view view() const noexcept {
    return simdjson::padded_string_view(buffer_.data(), buffer_.size(), buffer_.capacity());
  }

 private:
  static std::string& scratch() {
    thread_local std::string buffer;
    return buffer;
  }
  std::string& buffer_;
};

std::string_view trim(std::string_view text) noexcept {
  constexpr std::string_view space = " \t\r\n";
  const auto first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

std::string not_json(simdjson::error_code error) {
  return std::string("request body is not JSON: ") + simdjson::error_message(error);
}

std::string missing_field(std::string_view id_field) {
  std::string message = "request body has no ";
  core::append_json_string(message, id_field);
  return message;
}

}  // namespace

std::string build_payload(const PayloadSpec& spec, std::span<const std::string_view> items) {
  std::size_t size = items.size() + 2;
  for (const std::string_view item : items) size += item.size();
  std::string payload;

  if (spec.format == PayloadFormat::ndjson) {
    payload.reserve(size);
    for (const std::string_view item : items) {
      payload += item;
      payload += '\n';
    }
    return payload;
  }

  const std::span<const std::string> path = spec.format == PayloadFormat::wrapped
                                                ? std::span<const std::string>(spec.wrap_path)
                                                : std::span<const std::string>();
  for (const std::string& key : path) size += key.size() + 8;  // {"key": and }, with escapes
  payload.reserve(size);
  for (const std::string& key : path) {
    payload += '{';
    core::append_json_string(payload, key);
    payload += ':';
  }
  payload += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) payload += ',';
    payload += items[i];
  }
  payload += ']';
  payload.append(path.size(), '}');
  return payload;
}

std::string_view payload_content_type(PayloadFormat format) noexcept {
  return format == PayloadFormat::ndjson ? "application/x-ndjson" : "application/json";
}

std::string check_item(std::string_view item) {
  if (trim(item).empty()) return "request body is empty (expected JSON)";
  const PaddedCopy copy(item);
  // The DOM parser validates the whole document, which on-demand parsing would not.
  dom::element root;
  if (auto error = core::thread_dom_parser().parse(copy.view()).get(root)) return not_json(error);
  return {};
}

std::string minify_item(std::string_view item) {
  // minify needs only item.size() bytes; the padding is insurance against a vector store past
  // the end, which costs nothing here.
  std::string out(item.size() + simdjson::SIMDJSON_PADDING, '\0');
  std::size_t length = 0;
  if (simdjson::minify(item.data(), item.size(), out.data(), length) == simdjson::SUCCESS) {
    out.resize(length);
  } else {
    out.assign(item);
  }
  // Only in invalid JSON (a raw newline inside a string, or a minify error) is there anything
  // left to replace; the guarantee holds for any input.
  std::replace_if(out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

ItemId item_id(std::string_view item, std::string_view id_field) {
  ItemId result;
  const PaddedCopy copy(item);
  ondemand::document document;
  if (auto error = core::thread_ondemand_parser().iterate(copy.view()).get(document)) {
    result.error = not_json(error);
    return result;
  }
  ondemand::object object;
  if (document.get_object().get(object) != simdjson::SUCCESS) {
    result.error = "request body is not a JSON object, so it has no ";
    core::append_json_string(result.error, id_field);
    return result;
  }
  ondemand::value value;
  if (auto error = object.find_field_unordered(id_field).get(value)) {
    result.error = error == simdjson::NO_SUCH_FIELD ? missing_field(id_field) : not_json(error);
    return result;
  }
  ondemand::json_type type;
  if (auto error = value.type().get(type)) {
    result.error = not_json(error);
    return result;
  }
  if (type != ondemand::json_type::string && type != ondemand::json_type::number) {
    result.error = "request body's ";
    core::append_json_string(result.error, id_field);
    result.error += " is not a string or a number";
    return result;
  }
  result.id = trim(value.raw_json_token());
  if (result.id.empty()) result.error = missing_field(id_field);
  return result;
}

}  // namespace levee::layers::batch
