#pragma once
// The identity of a collapsible request (DESIGN.md "Collapse"): method, authority (Host),
// path, query string, the values of the route's `vary` headers, and the body when the route
// collapses a method that carries one. Two requests share an upstream call only when their
// keys are equal in full; the hash (XXH3) only picks a bucket, so a collision can never hand
// one caller another's answer. Pure functions, callable from any thread.

#include <cstdint>
#include <span>
#include <string>

#include "core/request.hpp"

namespace levee::layers::collapse {

struct CollapseKey {
  std::string text;  // every component, length-prefixed, so no two keys run together
  std::uint64_t hash = 0;

  friend bool operator==(const CollapseKey& a, const CollapseKey& b) noexcept {
    return a.hash == b.hash && a.text == b.text;
  }
};

// `vary`: header names in lower case. A header that is absent and one that is present but
// empty give different keys; several fields of one name count in their order.
[[nodiscard]] CollapseKey make_collapse_key(const core::Request& request,
                                            std::span<const std::string> vary, bool with_body);

}  // namespace levee::layers::collapse
