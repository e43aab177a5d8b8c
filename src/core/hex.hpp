#pragma once
// Lower-case hexadecimal of raw bytes (digests: Redis script SHA-1s, fleet lease keys). Pure.

#include <span>
#include <string>

namespace levee::core {

[[nodiscard]] inline std::string to_hex(std::span<const unsigned char> bytes) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes.size() * 2);
  for (const unsigned char byte : bytes) {
    text.push_back(k_digits[byte >> 4U]);
    text.push_back(k_digits[byte & 0xFU]);
  }
  return text;
}

}  // namespace levee::core
