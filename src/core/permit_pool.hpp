#pragma once
// A counting semaphore shared by every worker thread (DESIGN.md "Backpressure"): a request
// takes a Permit before it is parked or sent and gives it back when the Permit is destroyed.
// When none is free it waits, first come first served, up to a timeout; the line itself is
// bounded (max_waiters), so waiting never grows without limit either.
//
// Threading: any thread. A waiter waits on its own coroutine's executor; a release on another
// thread hands the permit straight to the first waiter (no barging) and wakes it by posting
// to that executor. Cancellation: a waiter whose wait is cancelled leaves the line; a permit
// handed to a waiter that is gone by then is given back.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

namespace levee::core {

class PermitPool : public std::enable_shared_from_this<PermitPool> {
 public:
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& other) noexcept : pool_(std::move(other.pool_)) {}
    Permit& operator=(Permit&& other) noexcept {
      if (this != &other) {
        reset();
        pool_ = std::move(other.pool_);
      }
      return *this;
    }
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() { reset(); }

    [[nodiscard]] explicit operator bool() const noexcept { return pool_ != nullptr; }
    void reset() noexcept {
      if (auto pool = std::move(pool_)) pool->release();
    }

   private:
    friend class PermitPool;
    explicit Permit(std::shared_ptr<PermitPool> pool) : pool_(std::move(pool)) {}
    std::shared_ptr<PermitPool> pool_;
  };

  // Use create(): waiters and permits keep the pool alive through shared_from_this().
  [[nodiscard]] static std::shared_ptr<PermitPool> create(std::uint64_t capacity,
                                                          std::uint64_t max_waiters);

  // A permit now, or an empty one.
  [[nodiscard]] Permit try_acquire();
  // A permit now, or after waiting up to `timeout` in line; empty when none came in time or
  // the line is full. A zero timeout never waits.
  [[nodiscard]] boost::asio::awaitable<Permit> acquire(std::chrono::nanoseconds timeout);

  [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::uint64_t in_use() const;
  [[nodiscard]] std::uint64_t waiting() const;

  struct Waiter;  // one coroutine waiting in line (permit_pool.cpp)

 private:
  PermitPool(std::uint64_t capacity, std::uint64_t max_waiters)
      : capacity_(capacity), max_waiters_(max_waiters) {}
  void release() noexcept;

  const std::uint64_t capacity_;
  const std::uint64_t max_waiters_;
  mutable std::mutex mutex_;
  std::uint64_t in_use_ = 0;                  // guarded by mutex_
  std::deque<std::shared_ptr<Waiter>> line_;  // guarded by mutex_
};

}  // namespace levee::core
