#pragma once
// The connection side of core::ClientWatch, driven by the test: a layer that parks a request
// watches its client, and go_away() is the client closing its connection.

#include <functional>
#include <utility>

#include "core/client_watch.hpp"

namespace levee::test {

class FakeClient final : public core::ClientWatch {
 public:
  void watch(std::function<void()> on_gone) override {
    on_gone_ = std::move(on_gone);
    ++watches;
  }
  void stop_watching() override { on_gone_ = nullptr; }
  [[nodiscard]] bool gone() const noexcept override { return gone_; }
  [[nodiscard]] bool gone_now() const noexcept override { return gone_; }
  void go_away() {
    gone_ = true;
    if (auto on_gone = std::exchange(on_gone_, nullptr)) on_gone();
  }
  [[nodiscard]] bool watched() const { return static_cast<bool>(on_gone_); }
  int watches = 0;

 private:
  std::function<void()> on_gone_;
  bool gone_ = false;
};

}  // namespace levee::test
