#include "server/h2_stream.hpp"

#include <boost/asio/post.hpp>
#include <utility>

namespace levee::server {

H2Stream::H2Stream(std::int32_t stream_id, std::size_t max_header_bytes,
                   const boost::asio::any_io_executor& executor)
    : id(stream_id),
      fields(max_header_bytes),
      body_wake(executor),
      wake(executor),
      last_progress(core::Clock::now()),
      executor_(executor) {}

bool H2Stream::waits_on_client() const noexcept {
  if (closed) return false;
  if (!dispatched || body_reading) return true;  // the body is still arriving
  return answer_submitted && !pump_reading;
}

void H2Stream::client_left() {
  if (gone_) return;
  gone_ = true;
  if (auto told = std::exchange(on_gone_, nullptr)) told();
  if (in_route) cancel->emit(boost::asio::cancellation_type::terminal);
}

void H2Stream::watch(std::function<void()> on_gone) {
  on_gone_ = std::move(on_gone);
  if (!gone_) return;
  // Already known: told from the executor, never from inside the caller's own frame.
  boost::asio::post(executor_, [self = shared_from_this()] {
    if (auto told = std::exchange(self->on_gone_, nullptr)) told();
  });
}

}  // namespace levee::server
