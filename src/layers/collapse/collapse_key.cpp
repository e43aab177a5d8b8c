#include "layers/collapse/collapse_key.hpp"

#include <xxhash.h>

#include <algorithm>
#include <string_view>

#include "core/headers.hpp"

namespace levee::layers::collapse {
namespace {

void append_part(std::string& key, std::string_view part) {
  key += std::to_string(part.size());
  key += ':';
  key += part;
}

}  // namespace

CollapseKey make_collapse_key(const core::Request& request, std::span<const std::string> vary,
                              bool with_body) {
  CollapseKey key;
  std::string& text = key.text;
  text.reserve(request.target.size() + request.method.size() + 64 +
               (with_body ? request.body.size() : 0));
  append_part(text, request.method);
  // Host names are case-insensitive; the port stays as sent. Lower-cased as it is appended,
  // with no copy of its own.
  const std::string* host = request.headers.find("host");
  const std::string_view host_text = host != nullptr ? std::string_view(*host) : std::string_view{};
  append_part(text, host_text);
  std::transform(text.end() - static_cast<std::ptrdiff_t>(host_text.size()), text.end(),
                 text.end() - static_cast<std::ptrdiff_t>(host_text.size()), core::ascii_lower);
  append_part(text, request.path());
  append_part(text, request.query());
  for (const std::string& name : vary) {
    std::size_t count = 0;
    for (const core::Header& header : request.headers) {
      if (!core::iequals(header.name, name)) continue;
      ++count;
      append_part(text, header.value);
    }
    // How many fields there were: "absent" differs from "present and empty".
    text += '#';
    text += std::to_string(count);
  }
  text += with_body ? 'B' : 'N';
  if (with_body) append_part(text, request.body);
  key.hash = XXH3_64bits(text.data(), text.size());
  return key;
}

}  // namespace levee::layers::collapse
