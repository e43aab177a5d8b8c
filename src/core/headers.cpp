#include "core/headers.hpp"

#include <algorithm>

namespace levee::core {

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

void Headers::freeze() {
  if (frozen_) return;
  frozen_ = std::make_shared<const std::vector<Header>>(std::move(fields_));
  fields_.clear();  // a moved-from vector is valid but unspecified
}

std::vector<Header>& Headers::own() {
  if (frozen_) {
    fields_ = *frozen_;
    frozen_.reset();
  }
  return fields_;
}

void Headers::add(std::string_view name, std::string_view value) {
  own().push_back(Header{std::string(name), std::string(value)});
}

void Headers::set(std::string_view name, std::string_view value) {
  remove(name);
  add(name, value);
}

std::size_t Headers::remove(std::string_view name) {
  if (!contains(name)) return 0;  // a frozen list stays shared
  auto removed = std::erase_if(own(), [&](const Header& h) { return iequals(h.name, name); });
  return removed;
}

const std::string* Headers::find(std::string_view name) const noexcept {
  for (const auto& h : fields()) {
    if (iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

}  // namespace levee::core
