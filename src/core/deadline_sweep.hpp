#pragma once
// The one timer behind levee's timeouts. Instead of a timer per socket operation (an
// allocation and two timer-queue updates each), an owner stores deadlines on its objects and
// a sweep calls `expire(now)` every k_deadline_sweep_interval, cancelling the operations of
// whatever is past its deadline. Timeouts therefore fire up to one interval late.
//
// Threading and ownership: the sweep runs on `executor` until its io_context stops; the
// coroutine frame is owned by the io_context, and whatever `expire` refers to must outlive
// the io_context (it is called on no other thread).

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>

#include "core/clock.hpp"

namespace levee::core {

inline constexpr auto k_deadline_sweep_interval = std::chrono::milliseconds(100);

void start_deadline_sweep(const boost::asio::any_io_executor& executor,
                          std::function<void(Clock::time_point)> expire);

}  // namespace levee::core
