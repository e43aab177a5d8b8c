#include "layers/collapse/shared_call.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

namespace levee::layers::collapse {

namespace asio = boost::asio;

Waiter::Waiter(const asio::any_io_executor& executor)
    : executor_(executor), timer_(executor, asio::steady_timer::time_point::max()) {}

// Runs the cancel on the waiter's own executor: its timer is only ever touched there, and a
// waiter that registered just before is already waiting when the post runs (registration and
// the wait start in one step on that executor).
void Waiter::wake(std::shared_ptr<Waiter> waiter) {
  const asio::any_io_executor executor = waiter->executor();
  asio::post(executor, [waiter = std::move(waiter)] { waiter->timer().cancel(); });
}

asio::cancellation_slot SharedCall::started_on(const asio::any_io_executor& executor) {
  std::lock_guard lock(mutex_);
  runs_.push_back(Run{executor, std::make_shared<asio::cancellation_signal>()});
  return runs_.back().cancel->slot();
}

bool SharedCall::claim() {
  std::lock_guard lock(mutex_);
  return !std::exchange(claimed_, true);
}

void SharedCall::wake_all_locked(std::vector<std::shared_ptr<Waiter>>& to_wake) {
  to_wake.swap(waiters_);
}

namespace {
// What every member's answer starts from: the status, the frozen (shared) header list and the
// flags, without the body.
SharedCall::Head head_of(core::Response& response, bool shareable) {
  response.headers.freeze();
  SharedCall::Head head{core::Response{}, shareable,
                        response.stream ? response.stream->length() : std::nullopt};
  head.response.status = response.status;
  head.response.headers = response.headers;
  head.response.close_connection = response.close_connection;
  head.response.upstream_failed = response.upstream_failed;
  head.response.shed = response.shed;
  head.response.breaker_open = response.breaker_open;
  // A whole answer's trailers (gRPC's grpc-status) go to every member with its head; a
  // streamed one's come at its end (complete()).
  // Shared by every member, as the headers are (most answers have none: no allocation).
  if (!response.trailers.empty()) response.trailers.freeze();
  head.response.trailers = response.trailers;
  return head;
}
}  // namespace

void SharedCall::publish_head(core::Response& response, bool shareable) {
  std::vector<std::shared_ptr<Waiter>> to_wake;
  {
    Head head = head_of(response, shareable);
    std::lock_guard lock(mutex_);
    if (head_) return;  // a second call lost the race
    head_ = std::move(head);
    wake_all_locked(to_wake);
  }
  for (auto& waiter : to_wake) Waiter::wake(std::move(waiter));
}

void SharedCall::publish_whole(core::Response& response, bool shareable) {
  std::vector<std::shared_ptr<Waiter>> to_wake;
  {
    Head head = head_of(response, shareable);
    std::lock_guard lock(mutex_);
    if (head_ || complete_ || failed_) return;
    head_ = std::move(head);
    if (response.body) {
      bytes_ += response.body->size();
      blocks_.push_back(response.body);
    }
    complete_ = true;
    wake_all_locked(to_wake);
  }
  for (auto& waiter : to_wake) Waiter::wake(std::move(waiter));
}

bool SharedCall::append(std::string_view piece) {
  // bytes_ is written only by the call's own coroutine, which is the caller: no lock to read it.
  if (piece.size() > max_bytes_ - std::min(bytes_, max_bytes_)) {
    fail(core::BodyError::too_large);
    return false;
  }
  append_block(std::make_shared<const std::string>(piece));
  return true;
}

void SharedCall::append_block(Block block) {
  std::vector<std::shared_ptr<Waiter>> to_wake;
  {
    std::lock_guard lock(mutex_);
    bytes_ += block->size();
    blocks_.push_back(std::move(block));
    wake_all_locked(to_wake);
  }
  for (auto& waiter : to_wake) Waiter::wake(std::move(waiter));
}

void SharedCall::complete(core::Headers trailers) {
  if (!trailers.empty()) {
    trailers.freeze();  // every member's copy shares one list
    std::lock_guard lock(mutex_);
    trailers_ = std::move(trailers);
  }
  end(std::nullopt);
}

core::Headers SharedCall::trailers() {
  std::lock_guard lock(mutex_);
  return trailers_;
}

void SharedCall::fail(core::BodyError error) { end(error); }

void SharedCall::end(std::optional<core::BodyError> error) {
  std::vector<std::shared_ptr<Waiter>> to_wake;
  {
    std::lock_guard lock(mutex_);
    if (complete_ || failed_) return;
    if (error) {
      failed_ = error;
    } else {
      complete_ = true;
    }
    wake_all_locked(to_wake);
  }
  for (auto& waiter : to_wake) Waiter::wake(std::move(waiter));
}

void SharedCall::add_member() {
  std::lock_guard lock(mutex_);
  ++members_;
}

void SharedCall::remove_member() {
  std::vector<Run> runs;
  {
    std::lock_guard lock(mutex_);
    if (members_ > 0) --members_;
    if (members_ > 0 || complete_ || failed_ || runs_.empty()) return;
    abandoned_.store(true, std::memory_order_release);
    runs = runs_;
  }
  // Emitted where each call runs: a signal is not thread-safe, and its handler touches the
  // call's pending operation.
  for (Run& run : runs) {
    asio::post(run.executor,
               [signal = run.cancel] { signal->emit(asio::cancellation_type::terminal); });
  }
}

SharedCall::HeadState SharedCall::head_or_wait(Head& head, const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard lock(mutex_);
  if (head_) {
    head.response = head_->response;  // shares the frozen header list
    head.shareable = head_->shareable;
    head.length = head_->length;
    return HeadState::ready;
  }
  if (failed_ || complete_) return HeadState::ended;
  waiters_.push_back(waiter);
  return HeadState::wait;
}

void SharedCall::forget(const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard lock(mutex_);
  std::erase(waiters_, waiter);
}

std::optional<SharedCall::Block> SharedCall::whole_body() {
  std::lock_guard lock(mutex_);
  if (!complete_ || blocks_.size() > 1) return std::nullopt;
  if (blocks_.empty()) return Block{};
  return blocks_.front();
}

std::optional<core::Response> SharedCall::whole_answer() {
  std::lock_guard lock(mutex_);
  if (!complete_ || !head_) return std::nullopt;
  core::Response answer = head_->response;
  if (blocks_.size() == 1) {
    answer.body = blocks_.front();
  } else if (!blocks_.empty()) {
    auto joined = std::make_shared<std::string>();
    joined->reserve(bytes_);
    for (const Block& block : blocks_) joined->append(*block);
    answer.body = std::move(joined);
  }
  if (!trailers_.empty()) answer.trailers = trailers_;
  return answer;
}

SharedCall::Next SharedCall::next_block(std::size_t& cursor, Block& block, core::BodyError& error,
                                        const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard lock(mutex_);
  if (cursor < blocks_.size()) {
    block = blocks_[cursor++];
    return Next::block;
  }
  if (failed_) {
    error = *failed_;
    return Next::failed;
  }
  if (complete_) return Next::end;
  waiters_.push_back(waiter);
  return Next::wait;
}

core::Headers ReplayStream::take_trailers() { return call_->trailers(); }

ReplayStream::~ReplayStream() {
  if (waiter_) call_->forget(waiter_);
}

asio::awaitable<core::BodyPiece> ReplayStream::read() {
  for (;;) {
    core::BodyError error = core::BodyError::cut_short;
    if (!waiter_) waiter_ = std::make_shared<Waiter>(co_await asio::this_coro::executor);
    switch (call_->next_block(cursor_, current_, error, waiter_)) {
      case SharedCall::Next::block:
        if (current_->empty()) continue;
        co_return std::string_view(*current_);
      case SharedCall::Next::end:
        co_return std::string_view{};
      case SharedCall::Next::failed:
        co_return core::unexpected(error);
      case SharedCall::Next::wait:
        break;
    }
    boost::system::error_code woken;  // operation_aborted: the call made progress
    waiter_->timer().expires_at(asio::steady_timer::time_point::max());
    co_await waiter_->timer().async_wait(asio::redirect_error(asio::use_awaitable, woken));
  }
}

namespace {
class Membership {
 public:
  explicit Membership(std::shared_ptr<SharedCall> call) : call_(std::move(call)) {}
  ~Membership() { call_->remove_member(); }
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

 private:
  std::shared_ptr<SharedCall> call_;
};
}  // namespace

std::shared_ptr<void> adopt_membership(const std::shared_ptr<SharedCall>& call) {
  return std::make_shared<Membership>(call);
}

}  // namespace levee::layers::collapse
