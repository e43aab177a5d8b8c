#include "core/permit_pool.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace levee::core {

namespace asio = boost::asio;

// Shared by the waiting coroutine and, once it is handed a permit, by the releasing thread's
// wake-up; `granted` and `abandoned` are guarded by the pool's mutex.
struct PermitPool::Waiter {
  Waiter(const asio::any_io_executor& executor, std::weak_ptr<PermitPool> pool)
      : timer(executor), pool(std::move(pool)) {}
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  // A permit handed over to a waiter whose frame was destroyed before it woke (a stop) goes
  // back; the last owner runs this, so no lock is needed to read `granted`.
  ~Waiter() {
    if (granted && !claimed) {
      if (auto owner = pool.lock()) owner->release();
    }
  }
  asio::steady_timer timer;  // touched only on its own executor
  std::weak_ptr<PermitPool> pool;
  bool granted = false;  // guarded by the pool's mutex
  bool claimed = false;  // the waiter's own coroutine only
};

std::shared_ptr<PermitPool> PermitPool::create(std::uint64_t capacity, std::uint64_t max_waiters) {
  return std::shared_ptr<PermitPool>(new PermitPool(capacity, max_waiters));
}

PermitPool::Permit PermitPool::try_acquire() {
  {
    std::lock_guard lock(mutex_);
    // Waiters came first: a newcomer does not overtake them.
    if (in_use_ >= capacity_ || !line_.empty()) return Permit{};
    ++in_use_;
  }
  return Permit(shared_from_this());
}

asio::awaitable<PermitPool::Permit> PermitPool::acquire(std::chrono::nanoseconds timeout) {
  if (Permit permit = try_acquire()) co_return permit;
  if (timeout <= std::chrono::nanoseconds::zero()) co_return Permit{};
  auto waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor, weak_from_this());
  {
    std::lock_guard lock(mutex_);
    if (in_use_ < capacity_ && line_.empty()) {
      ++in_use_;
      co_return Permit(shared_from_this());
    }
    if (line_.size() >= max_waiters_) co_return Permit{};
    line_.push_back(waiter);
  }
  waiter->timer.expires_after(timeout);
  // Woken by the timer, by a release (which cancels the timer), or by cancellation.
  (void)co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(mutex_);
  if (waiter->granted) {
    waiter->claimed = true;
    co_return Permit(shared_from_this());
  }
  line_.erase(std::find(line_.begin(), line_.end(), waiter));
  co_return Permit{};
}

void PermitPool::release() noexcept {
  std::shared_ptr<Waiter> next;
  {
    std::lock_guard lock(mutex_);
    if (line_.empty()) {
      --in_use_;
      return;
    }
    // The permit passes to the first waiter as it is: in_use_ stays.
    next = std::move(line_.front());
    line_.pop_front();
    next->granted = true;
  }
  // The wake-up takes `next` over, so that the waiter (and its timer) is destroyed on its own
  // executor, never here: this thread's reference could otherwise be the last, and the
  // waiter's io_context may be gone by then. If that executor is shut down, the handler is
  // destroyed unrun with the waiter's frame, so nothing is left to answer.
  auto executor = next->timer.get_executor();
  asio::post(executor, [next = std::move(next)] { next->timer.cancel(); });
}

std::uint64_t PermitPool::in_use() const {
  std::lock_guard lock(mutex_);
  return in_use_;
}

std::uint64_t PermitPool::waiting() const {
  std::lock_guard lock(mutex_);
  return line_.size();
}

}  // namespace levee::core
