#include "core/json_string.hpp"

#include <simdjson.h>

namespace levee::core {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void append_unicode_escape(std::string& out, unsigned char c) {
  out += "\\u00";
  out += hex_digits[c >> 4];
  out += hex_digits[c & 0xf];
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  const bool valid_utf8 = simdjson::validate_utf8(text.data(), text.size());
  out.reserve(out.size() + text.size() + 2);
  out += '"';
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || (c >= 0x80 && !valid_utf8)) {
          append_unicode_escape(out, c);
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

}  // namespace levee::core
