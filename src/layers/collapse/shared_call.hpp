#pragma once
// The upstream call of one collapse slot, owned by the slot rather than by any member
// (docs/life_of_a_request.md, "The shape of the data plane", rule 2).
//
// The call runs as its own coroutine on the worker of the request that opened the slot
// (CollapseService::run_call). It publishes the answer's head, then appends every body piece
// to a replay buffer of immutable blocks. Members are only readers: each waits for the head,
// then reads the blocks through its own cursor (ReplayStream), at its own pace. A member that
// joins late is replayed from the first block; a slow member holds only its cursor and never
// slows the call or the others. The buffer is bounded (max_bytes); an answer that outgrows it
// fails every member, as a body cut short.
//
// Members are counted: when the last one leaves before the answer is complete, the call is
// cancelled (its coroutine's cancellation signal, emitted on its own executor), which closes
// the upstream connection and releases the upstream permit.
//
// Threading: any thread. State is guarded by one mutex per call; members are woken by a post
// to their own executor (a Waiter's timer cancelled there), never by polling.

#include <array>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/body_stream.hpp"
#include "core/response.hpp"

namespace levee::layers::collapse {

// One member waiting for progress of a call (or a slot), on its own executor.
class Waiter {
 public:
  explicit Waiter(const boost::asio::any_io_executor& executor);
  // Wait until woken (returns at once if wake() already ran on this executor).
  [[nodiscard]] boost::asio::steady_timer& timer() noexcept { return timer_; }
  [[nodiscard]] const boost::asio::any_io_executor& executor() const noexcept { return executor_; }
  // Cancels the timer from the waiter's own executor, where the timer lives.
  static void wake(std::shared_ptr<Waiter> waiter);

 private:
  boost::asio::any_io_executor executor_;
  boost::asio::steady_timer timer_;
};

class SharedCall : public std::enable_shared_from_this<SharedCall> {
 public:
  using Block = std::shared_ptr<const std::string>;

  explicit SharedCall(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // What a member learns once the head is in.
  struct Head {
    core::Response response;              // status, frozen headers, flags; no body
    bool shareable = true;                // false: Set-Cookie, the opener's alone
    std::optional<std::uint64_t> length;  // the upstream's declared body length
  };

  // --- the call's side (run_call) ---
  // The cancellation slot a call's coroutine is bound to; `executor` is where it runs. A slot
  // has one call, or two when a second one races a slow first (leader_age).
  [[nodiscard]] boost::asio::cancellation_slot started_on(
      const boost::asio::any_io_executor& executor);
  // The first call to get an answer claims the slot's answer; false for the other.
  [[nodiscard]] bool claim();
  // Publishes the head (headers frozen) and wakes the members.
  void publish_head(core::Response& response, bool shareable);
  // An answer that came whole: head, body and end in one step, so that every member woken
  // finds it complete (whole_body()).
  void publish_whole(core::Response& response, bool shareable);  // takes the stream's length
  // Appends a piece; false (and the call failed with too_large) past max_bytes.
  bool append(std::string_view piece);
  void append_block(Block block);
  // The body's clean end, with the trailer section that followed it (every member gets it).
  void complete(core::Headers trailers = {});
  void fail(core::BodyError error);
  // The trailers complete() recorded, frozen: every member's copy shares one list.
  [[nodiscard]] core::Headers trailers();
  [[nodiscard]] std::size_t max_bytes() const noexcept { return max_bytes_; }
  // The moments the members' accounting splits their time at (CollapseService::account):
  // the slot was due to go (their wait ends), its call started on its worker, and the
  // answer's head came in (before it is published). Only the first mark of each counts (a
  // slot's second call, leader_age, changes none); unset (the epoch) before.
  enum class Moment : std::uint8_t { left, started, answered };
  void mark(Moment moment, std::chrono::steady_clock::time_point at) noexcept {
    std::chrono::steady_clock::rep unset = 0;
    moments_[static_cast<std::size_t>(moment)].compare_exchange_strong(
        unset, at.time_since_epoch().count(), std::memory_order_relaxed);
  }
  [[nodiscard]] std::chrono::steady_clock::time_point when(Moment moment) const noexcept {
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(
        moments_[static_cast<std::size_t>(moment)].load(std::memory_order_relaxed)));
  }

  // --- the members' side ---
  void add_member();
  // The last member to leave before the end cancels the call.
  void remove_member();
  [[nodiscard]] bool abandoned() const noexcept {
    return abandoned_.load(std::memory_order_acquire);
  }
  enum class HeadState { ready, wait, ended };  // ended: the call ended without a head
  // The head if it is in (copied into `head`); otherwise registers `waiter` to be woken at the
  // next progress, or says the call ended without one.
  [[nodiscard]] HeadState head_or_wait(Head& head, const std::shared_ptr<Waiter>& waiter);
  // The whole body as one block, when it is complete and fits one (small answers).
  [[nodiscard]] std::optional<Block> whole_body();
  // The complete answer as one response (head, body joined, trailers), for a copy kept beyond
  // the slot (fleet collapsing's shared answer); nullopt until it is complete, or if it failed.
  [[nodiscard]] std::optional<core::Response> whole_answer();

  // Takes `waiter` off the list of those to wake (a member that stops waiting): a wake must
  // never be posted to an executor whose io_context may be gone with the member.
  void forget(const std::shared_ptr<Waiter>& waiter);

  enum class Next { block, end, failed, wait };
  // The block at `cursor` (and advances it), or what else there is; registers `waiter` on wait.
  Next next_block(std::size_t& cursor, Block& block, core::BodyError& error,
                  const std::shared_ptr<Waiter>& waiter);

 private:
  void wake_all_locked(std::vector<std::shared_ptr<Waiter>>& to_wake);
  // The body's end, clean (nullopt) or not; only the first end counts.
  void end(std::optional<core::BodyError> error);

  const std::size_t max_bytes_;
  std::mutex mutex_;
  std::optional<Head> head_;
  std::vector<Block> blocks_;
  core::Headers trailers_;
  std::size_t bytes_ = 0;
  bool complete_ = false;
  std::optional<core::BodyError> failed_;
  std::vector<std::shared_ptr<Waiter>> waiters_;
  std::size_t members_ = 0;
  std::atomic<bool> abandoned_{false};
  std::array<std::atomic<std::chrono::steady_clock::rep>, 3> moments_{};
  bool claimed_ = false;
  struct Run {
    boost::asio::any_io_executor executor;
    std::shared_ptr<boost::asio::cancellation_signal> cancel;
  };
  std::vector<Run> runs_;
};

// A member's view of the call's body: its own cursor over the shared blocks.
class ReplayStream final : public core::BodyStream {
 public:
  // `membership` is released (remove_member) when the stream is destroyed.
  ReplayStream(std::shared_ptr<SharedCall> call, std::shared_ptr<void> membership,
               std::optional<std::uint64_t> length)
      : call_(std::move(call)), membership_(std::move(membership)), length_(length) {}
  ~ReplayStream() override;
  ReplayStream(const ReplayStream&) = delete;
  ReplayStream& operator=(const ReplayStream&) = delete;

  [[nodiscard]] boost::asio::awaitable<core::BodyPiece> read() override;
  [[nodiscard]] std::optional<std::uint64_t> length() const noexcept override { return length_; }
  [[nodiscard]] core::Headers take_trailers() override;

 private:
  std::shared_ptr<SharedCall> call_;
  std::shared_ptr<void> membership_;
  std::optional<std::uint64_t> length_;
  std::size_t cursor_ = 0;
  SharedCall::Block current_;
  std::shared_ptr<Waiter> waiter_;
};

// Takes over a member counted in by add_member() (SlotTable::join): destroying the result
// counts it out.
[[nodiscard]] std::shared_ptr<void> adopt_membership(const std::shared_ptr<SharedCall>& call);

}  // namespace levee::layers::collapse
