#pragma once
// Tells a layer that parks a request when its client goes away (closes or resets the
// connection) while the request waits, so that it stops waiting at once instead of holding a
// place until the answer (DESIGN.md "Collapse": a follower that disconnects leaves at once).
// The server implements it per connection, by starting its next read early; it runs only while
// a layer asks for it.
//
// Threading: used only on the connection's executor, which is the one the request's
// coroutine runs on.

#include <functional>

namespace levee::core {

class ClientWatch {
 public:
  ClientWatch() = default;
  ClientWatch(const ClientWatch&) = delete;
  ClientWatch& operator=(const ClientWatch&) = delete;

  // Calls `on_gone` once, on the connection's executor, if the client goes away before
  // stop_watching(). A later call replaces the callback.
  virtual void watch(std::function<void()> on_gone) = 0;
  virtual void stop_watching() = 0;
  // True once the client is known to be gone.
  [[nodiscard]] virtual bool gone() const noexcept = 0;
  // gone(), or the client's close is already in the socket though levee has not read it yet
  // (asks the kernel: for after a wait, not for every request).
  [[nodiscard]] virtual bool gone_now() const noexcept = 0;

 protected:
  ~ClientWatch() = default;
};

}  // namespace levee::core
