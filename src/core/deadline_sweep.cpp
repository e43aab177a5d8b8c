#include "core/deadline_sweep.hpp"

#include <utility>

#include "core/periodic.hpp"

namespace levee::core {

void start_deadline_sweep(const boost::asio::any_io_executor& executor,
                          std::function<void(Clock::time_point)> expire) {
  start_periodic(executor, k_deadline_sweep_interval,
                 [expire = std::move(expire)](Clock::time_point) { expire(Clock::now()); });
}

}  // namespace levee::core
