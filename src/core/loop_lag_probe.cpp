#include "core/loop_lag_probe.hpp"

#include <algorithm>
#include <utility>

#include "core/periodic.hpp"

namespace levee::core {

void start_loop_lag_probe(const boost::asio::any_io_executor& executor,
                          std::function<void(Clock::duration lag)> record,
                          Clock::duration interval) {
  start_periodic(executor, interval, [record = std::move(record)](Clock::time_point due) {
    record(std::max(Clock::now() - due, Clock::duration::zero()));
  });
}

}  // namespace levee::core
