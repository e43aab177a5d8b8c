#pragma once
// Lower-case hexadecimal of raw bytes (digests: Redis script SHA-1s, fleet lease keys). Pure.

#include <span>
#include <string>

namespace levee::core {

[[nodiscard]] inline std::string to_hex(std::span<const unsigned char> bytes) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string text(bytes.size() * 2, '\0');
  char* out = text.data();
  for (const unsigned char byte : bytes) {
    *out++ = k_digits[byte >> 4U];
    *out++ = k_digits[byte & 0xFU];
  }
  return text;
}

}  // namespace levee::core
