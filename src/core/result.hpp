#pragma once
// Result<T, E>: a value or an error, for the data path where exceptions are not used
// (STYLE.md). A minimal stand-in for C++23 std::expected, which libstdc++ 12 lacks in C++20.

#include <cassert>
#include <utility>
#include <variant>

namespace levee::core {

template <class E>
struct Unexpected {
  E error;
};

template <class E>
[[nodiscard]] Unexpected<E> unexpected(E error) {
  return Unexpected<E>{std::move(error)};
}

template <class T, class E>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  Result(Unexpected<E> u) : state_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT

  [[nodiscard]] bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  [[nodiscard]] T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  [[nodiscard]] const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  [[nodiscard]] T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  [[nodiscard]] const E& error() const& {
    assert(!ok());
    return std::get<1>(state_);
  }

 private:
  std::variant<T, E> state_;
};

}  // namespace levee::core
