#pragma once
// How late a worker's event loop runs what is due: a timer armed for every interval records,
// when it fires, how long after its expiry that was. On an idle or lightly loaded worker the
// figure is a few microseconds; on a saturated one it is the time a request that became ready
// now waits before the worker gets to it (Envoy's dispatcher poll delay, Node.js's event loop
// delay). It explains added latency that no phase of a request shows by itself.
//
// Threading and ownership: the probe runs on `executor` until its io_context stops; the
// coroutine frame is owned by the io_context, and whatever `record` refers to must outlive
// the io_context (it is called on no other thread). One timer wake-up per interval is its
// whole cost.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>

#include "core/clock.hpp"

namespace levee::core {

inline constexpr auto k_loop_lag_interval = std::chrono::milliseconds(100);

void start_loop_lag_probe(const boost::asio::any_io_executor& executor,
                          std::function<void(Clock::duration lag)> record,
                          Clock::duration interval = k_loop_lag_interval);

}  // namespace levee::core
