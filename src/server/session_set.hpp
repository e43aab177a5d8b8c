#pragma once
// The live client connections of one worker, whatever protocol they speak (HTTP/1.1,
// HTTP/2, over TLS or not), so that drain and the timeouts reach each of them. Touched only
// on that worker's thread. It also enforces the sessions' timeouts through a deadline sweep
// (core/deadline_sweep.hpp).

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <unordered_set>

namespace levee::server {

// What the set asks of a session. Neither call may destroy the session synchronously.
class TrackedSession {
 public:
  // Closes the connection once what it has accepted is answered.
  virtual void drain() = 0;
  // Called by the sweep: cancels whatever waits past its deadline.
  virtual void expire_if_due(std::chrono::steady_clock::time_point now) = 0;

 protected:
  TrackedSession() = default;
  ~TrackedSession() = default;
  TrackedSession(const TrackedSession&) = default;
  TrackedSession& operator=(const TrackedSession&) = default;
};

class SessionSet {
 public:
  void add(TrackedSession* session) { sessions_.insert(session); }
  void remove(TrackedSession* session) { sessions_.erase(session); }
  // Closes idle connections now and makes busy ones close after their current response.
  void drain_all();
  // Cancels the pending operation of every session whose deadline is at or before `now`.
  void expire_due(std::chrono::steady_clock::time_point now);
  // Starts the deadline sweep on `executor`; the set must outlive its io_context.
  void start_sweeping(const boost::asio::any_io_executor& executor);
  [[nodiscard]] std::size_t size() const noexcept { return sessions_.size(); }

 private:
  std::unordered_set<TrackedSession*> sessions_;
};

}  // namespace levee::server
