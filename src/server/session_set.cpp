#include "server/session_set.hpp"

#include <vector>

#include "core/deadline_sweep.hpp"

namespace levee::server {

void SessionSet::drain_all() {
  // drain() may close sockets but never destroys a session synchronously, so iterating over
  // a copy is only needed because a session removes itself from its destructor.
  std::vector<TrackedSession*> snapshot(sessions_.begin(), sessions_.end());
  for (auto* session : snapshot) session->drain();
}

void SessionSet::expire_due(std::chrono::steady_clock::time_point now) {
  // expire_if_due() only cancels operations; completions run later, so no session leaves
  // the set while it is being iterated.
  for (auto* session : sessions_) session->expire_if_due(now);
}

void SessionSet::start_sweeping(const boost::asio::any_io_executor& executor) {
  core::start_deadline_sweep(executor, [this](core::Clock::time_point now) { expire_due(now); });
}

}  // namespace levee::server
