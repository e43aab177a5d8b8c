#pragma once
// A task run every `interval` on an executor, for as long as its io_context runs: the one
// timer behind the deadline sweeps (core/deadline_sweep.hpp) and the loop lag probe
// (core/loop_lag_probe.hpp). `tick` is told when it was due (the timer's expiry); it runs
// late by however long its worker took to get to it.
//
// Threading and ownership: the coroutine frame is owned by the io_context, and whatever
// `tick` refers to must outlive the io_context (it is called on no other thread).

#include <boost/asio/any_io_executor.hpp>
#include <functional>

#include "core/clock.hpp"

namespace levee::core {

void start_periodic(const boost::asio::any_io_executor& executor, Clock::duration interval,
                    std::function<void(Clock::time_point due)> tick);

}  // namespace levee::core
