#pragma once
// An HTTP header list that keeps order and duplicates (Set-Cookie, Via) and compares names
// case-insensitively, as RFC 9110 requires. Plain value type; not thread-safe.
//
// freeze() makes the list immutable and shared: copies of a frozen list share one buffer, so
// that one upstream answer is handed to many callers (collapse fan-out), on any thread,
// without a copy per caller. Changing a frozen list gives that object its own copy first.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace levee::core {

// Field names are ASCII (RFC 9110 5.1): case is folded byte by byte, without the locale.
[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
[[nodiscard]] std::string to_lower(std::string_view text);
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
    return std::erase_if(own(), predicate);
  }
  void freeze();
  [[nodiscard]] bool frozen() const noexcept { return frozen_ != nullptr; }

  // The first field of that name, or nullptr.
  [[nodiscard]] const std::string* find(std::string_view name) const noexcept;
  [[nodiscard]] bool contains(std::string_view name) const noexcept {
    return find(name) != nullptr;
  }

  [[nodiscard]] const_iterator begin() const noexcept { return fields().begin(); }
  [[nodiscard]] const_iterator end() const noexcept { return fields().end(); }
  [[nodiscard]] std::size_t size() const noexcept { return fields().size(); }
  [[nodiscard]] bool empty() const noexcept { return fields().empty(); }
  void reserve(std::size_t n) { own().reserve(n); }

 private:
  [[nodiscard]] const std::vector<Header>& fields() const noexcept {
    return frozen_ ? *frozen_ : fields_;
  }
  // The list to change: a frozen one is copied into fields_ first.
  std::vector<Header>& own();

  std::vector<Header> fields_;                         // empty while frozen
  std::shared_ptr<const std::vector<Header>> frozen_;  // never changed once made
};

}  // namespace levee::core
