#pragma once
// An HTTP header list that keeps order and duplicates (Set-Cookie, Via) and compares names
// case-insensitively, as RFC 9110 requires. Plain value type; not thread-safe.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace levee::core {

[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

struct Header {
  std::string name;
  std::string value;
};

class Headers {
 public:
  using const_iterator = std::vector<Header>::const_iterator;

  void add(std::string_view name, std::string_view value);
  // Replaces every field of that name with one field.
  void set(std::string_view name, std::string_view value);
  // Returns how many fields were removed.
  std::size_t remove(std::string_view name);
  // Removes every field for which `predicate(const Header&)` is true, in one pass.
  template <class Predicate>
  std::size_t remove_if(Predicate predicate) {
    return std::erase_if(fields_, predicate);
  }

  // The first field of that name, or nullptr.
  [[nodiscard]] const std::string* find(std::string_view name) const noexcept;
  [[nodiscard]] bool contains(std::string_view name) const noexcept {
    return find(name) != nullptr;
  }

  [[nodiscard]] const_iterator begin() const noexcept { return fields_.begin(); }
  [[nodiscard]] const_iterator end() const noexcept { return fields_.end(); }
  [[nodiscard]] std::size_t size() const noexcept { return fields_.size(); }
  [[nodiscard]] bool empty() const noexcept { return fields_.empty(); }
  void reserve(std::size_t n) { fields_.reserve(n); }

 private:
  std::vector<Header> fields_;
};

}  // namespace levee::core
