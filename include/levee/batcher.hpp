#pragma once
// levee's batcher (DESIGN.md "Batch"), the one the proxy's batch routes use, for in-process
// use as well: many small independent items, submitted from any number of threads, become
// calls of up to max_batch_size items, and each submitter gets its own result back.
//
//   auto batcher = levee::Batcher<Item, Result>::create(limits, policy);
//   auto handle = batcher->handle(io.get_executor(), call);   // one per thread / executor
//   levee::ItemOutcome<Result> outcome = co_await handle.submit(item, bytes);
//
// - A batch opens with its first item and goes when it is full (max_batch_size, or the next
//   item would pass max_batch_bytes), when max_wait has passed since it opened, when the
//   flush policy says so (include/levee/flush_policy.hpp), or at shutdown(); whichever first.
// - At most max_inflight_batches calls run at once; formed batches wait behind them in a queue
//   of at most max_queued_batches. Capacity is reserved before an item is parked: an item is
//   admitted only if there is room for it (max_pending_items, and a place in a batch that can
//   go), else it waits up to admission_timeout (FIFO) and is then shed. Nothing grows
//   without bound.
// - The call gets the items in submission order and answers one result per item, in the same
//   order, or one failure for all. A call that throws fails its batch only: the batcher keeps
//   going (tower-batch-control stops after one error; this one does not).
// - Items with the same non-zero `exclusive_key` never share a batch (the proxy uses it for
//   item ids that must be unique within a call).
// - Withdrawal: an item whose cancellation slot fires, or whose awaiting coroutine is
//   destroyed, leaves its batch if the batch has not gone yet; its outcome is
//   BatchError::withdrawn. Once its batch has left, it waits for its result as usual.
//
// Threading: a Batcher is shared by every thread and guards its state with one mutex. A
// Handle belongs to one executor, which must run on one thread at a time (an io_context with
// one thread, or a strand); submit() runs there and is woken there. A batch's call runs on
// the executor of the handle whose item opened the batch, so a per-thread resource (the
// proxy's upstream connection pool) is only touched by its own thread.
//
// Time: the batcher reads the clock given to create() (a test's manual clock; steady_clock by
// default), and its timers wait the durations it computes from that clock.
//
// Lifetime: every coroutine the batcher spawns (calls, timers) holds a shared_ptr to it; the
// frames are owned by the executors' io_contexts. The batcher's shared state owns no I/O
// object: a member's wake-up timer belongs to its submit frame and a batch's max_wait timer
// to its pending wait, each on its own io_context, and the shared state only holds weak
// references to them. So nothing of one io_context is destroyed after it, whatever order the
// io_contexts (and the batcher) go in.

#include <algorithm>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "levee/flush_policy.hpp"

namespace levee {

struct BatchLimits {
  std::size_t max_batch_size = 100;
  std::size_t max_batch_bytes = 1024 * 1024;  // sum of the items' sizes
  std::chrono::nanoseconds max_wait = std::chrono::milliseconds(10);
  std::size_t max_inflight_batches = 8;
  std::size_t max_queued_batches = 16;
  // Items admitted and not yet answered; 0: (inflight + queued + 1) batches' worth.
  std::size_t max_pending_items = 0;
  std::chrono::nanoseconds admission_timeout{0};  // 0: shed at once when full

  [[nodiscard]] std::size_t pending_limit() const noexcept {
    return max_pending_items != 0
               ? max_pending_items
               : (max_inflight_batches + max_queued_batches + 1) * max_batch_size;
  }
  // Throws std::invalid_argument naming the first bad value (a set-up error).
  void validate() const {
    if (max_batch_size == 0) throw std::invalid_argument("max_batch_size must be at least 1");
    if (max_batch_bytes == 0) throw std::invalid_argument("max_batch_bytes must be at least 1");
    if (max_wait <= std::chrono::nanoseconds::zero()) {
      throw std::invalid_argument("max_wait must be positive");
    }
    if (max_inflight_batches == 0) {
      throw std::invalid_argument("max_inflight_batches must be at least 1");
    }
    if (admission_timeout < std::chrono::nanoseconds::zero()) {
      throw std::invalid_argument("admission_timeout must not be negative");
    }
  }
};

// Why an item got no result of its own.
enum class BatchError {
  shed,         // no capacity within admission_timeout
  too_large,    // the item alone passes max_batch_bytes
  call_failed,  // the batch call answered a failure, or threw
  withdrawn,    // the submitter went away before its batch left
};

struct BatchFailure {
  BatchError error = BatchError::call_failed;
  std::string message;
  int code = 0;  // the call's own code for the failure (the proxy: an HTTP status)
  // The callee asked callers to come back after this (it was overloaded); 0 = not said.
  std::chrono::seconds retry_after{0};
};

template <class Result>
using BatchReply = std::variant<std::vector<Result>, BatchFailure>;  // what a call answers
template <class Result>
using ItemOutcome = std::variant<Result, BatchFailure>;  // what a submitter gets

// A Result with a `left_at` member is told when its batch left: the time the batch was due to
// go (full, the policy's word, or max_wait passed; a late timer does not count) or, when it had
// to wait for a call slot or a queue place, the time it got one. Whatever follows, up to the
// call's start on its executor, is the caller's own delay, not the batch's wait: the proxy uses
// it to tell an item's wait apart from its own overhead.
template <class Result>
concept TakesLeftAt =
    requires(Result& result, std::chrono::steady_clock::time_point at) { result.left_at = at; };

using BatchClock = std::function<std::chrono::steady_clock::time_point()>;

// How one batch went, for BatchObserver::call_finished.
struct FinishedBatch {
  FlushReason reason = FlushReason::timeout;
  std::size_t items = 0;
  std::size_t bytes = 0;
  std::chrono::nanoseconds age{0};          // from its first item to its call's start
  std::chrono::nanoseconds call_time{0};    // its call, start to answer
  bool ok = false;                          // the call answered one result per item
  int failure_code = 0;                     // BatchFailure::code when it did not
  const GroupArrivals* arrivals = nullptr;  // its items' arrivals; valid during the call only
};

// Hooks for metrics; called under the batcher's lock (call_finished excepted), so they must be
// quick. Any thread.
class BatchObserver {
 public:
  BatchObserver() = default;
  BatchObserver(const BatchObserver&) = delete;
  BatchObserver& operator=(const BatchObserver&) = delete;
  virtual ~BatchObserver() = default;
  // A batch left: its call starts now. `reason` is why it stopped taking items; `age` runs
  // from its first item to now (queueing behind max_inflight_batches included).
  virtual void flushed(FlushReason /*reason*/, std::size_t /*items*/, std::size_t /*bytes*/,
                       std::chrono::nanoseconds /*age*/) {}
  virtual void answered(std::size_t /*items*/, bool /*ok*/) {}
  // A batch's call ended, before its members are woken. Not under the lock; on the executor
  // the call ran on.
  virtual void call_finished(const FinishedBatch& /*batch*/) {}
  virtual void shed() {}
  virtual void withdrawn() {}
};

struct BatchStats {
  std::size_t open_batches = 0;  // filling now (0 or 1)
  std::size_t open_items = 0;
  std::size_t queued_batches = 0;    // formed, waiting for a call slot
  std::size_t inflight_batches = 0;  // calls running
  std::size_t pending_items = 0;     // admitted, not yet answered
  std::size_t admission_waiters = 0;
};

template <class Item, class Result>
class Batcher : public std::enable_shared_from_this<Batcher<Item, Result>> {
 public:
  using Call = std::function<boost::asio::awaitable<BatchReply<Result>>(std::vector<Item>)>;
  using Outcome = ItemOutcome<Result>;
  class Handle;

  [[nodiscard]] static std::shared_ptr<Batcher> create(
      BatchLimits limits, std::shared_ptr<const FlushPolicy> policy,
      std::shared_ptr<BatchObserver> observer = nullptr,
      BatchClock now = std::chrono::steady_clock::now) {
    limits.validate();
    if (!policy) throw std::invalid_argument("a batcher needs a flush policy");
    if (!now) throw std::invalid_argument("a batcher needs a clock");
    return std::shared_ptr<Batcher>(
        new Batcher(limits, std::move(policy), std::move(observer), std::move(now)));
  }

  // `call` sends one batch; it runs on `executor`. See the threading notes above.
  [[nodiscard]] Handle handle(boost::asio::any_io_executor executor, Call call) {
    return Handle(this->shared_from_this(),
                  std::make_shared<Lane>(Lane{std::move(executor), std::move(call)}));
  }

  // Sends the open batch now, and every later item at once; formed batches still respect
  // max_inflight_batches. For graceful shutdown: every parked item is answered.
  void shutdown() {
    Starts starts;
    {
      std::lock_guard lock(mutex_);
      shutting_down_ = true;
      if (open_ && !open_->members.empty()) seal_open(FlushReason::shutdown, starts);
    }
    start(std::move(starts));
  }

  // For the owner, once every handle's executor has stopped for good: from then on the
  // batcher posts and spawns nothing (coroutine frames being destroyed still call into it,
  // and must not reach an executor that may already be gone).
  void close() noexcept { closed_.store(true, std::memory_order_release); }

  [[nodiscard]] BatchStats stats() const {
    std::lock_guard lock(mutex_);
    BatchStats stats;
    stats.open_batches = open_ && !open_->members.empty() ? 1 : 0;
    stats.open_items = open_ ? open_->members.size() : 0;
    stats.queued_batches = queued_.size();
    stats.inflight_batches = inflight_;
    stats.pending_items = pending_items_;
    stats.admission_waiters = admission_waiters_.size();
    return stats;
  }

  [[nodiscard]] const BatchLimits& limits() const noexcept { return limits_; }

 private:
  struct Lane {
    boost::asio::any_io_executor executor;
    Call call;
  };
  struct Batch;

  struct Member {
    Member(const boost::asio::any_io_executor& executor, Item member_item, std::size_t size,
           std::uint64_t key)
        : item(std::move(member_item)), bytes(size), exclusive_key(key), executor_(executor) {}
    Item item;  // moved into the call when the batch leaves
    const std::size_t bytes;
    const std::uint64_t exclusive_key;
    boost::asio::any_io_executor executor_;
    // The submitter sleeps on it; owned by its submit frame, touched on executor_ only.
    std::weak_ptr<boost::asio::steady_timer> timer;
    // Written under the batcher's mutex, once; read without it by the submitter once `ready`
    // says so (its release follows the write), so that a woken member takes no lock.
    std::optional<Outcome> outcome;
    std::atomic<bool> ready{false};
    // Guarded by the batcher's mutex:
    Batch* batch = nullptr;  // set while in a batch that has not left (open or queued)
    bool waiting_admission = false;
  };
  using MemberPtr = std::shared_ptr<Member>;

  struct Batch {
    Batch(std::shared_ptr<Lane> origin, std::chrono::steady_clock::time_point now)
        : lane(std::move(origin)), opened(now), arrivals(now) {}
    std::shared_ptr<Lane> lane;
    std::chrono::steady_clock::time_point opened;
    // Every item's arrival, withdrawn ones included; guarded by the batcher's mutex while the
    // batch is open, final once it is sealed.
    GroupArrivals arrivals;
    // max_wait; owned by its pending wait on lane->executor, touched there only.
    std::weak_ptr<boost::asio::steady_timer> timer;
    // Guarded by the batcher's mutex:
    std::vector<MemberPtr> members;
    std::size_t bytes = 0;
    std::unordered_set<std::uint64_t> exclusive_keys;
    std::optional<FlushReason> due;  // should go, but no call slot or queue place is free
    FlushReason reason = FlushReason::timeout;         // why it was sealed
    std::chrono::steady_clock::time_point departed{};  // its call started (set by dispatch)
    std::chrono::steady_clock::time_point left_at{};   // see TakesLeftAt; set by dispatch
  };
  using BatchPtr = std::shared_ptr<Batch>;
  using Starts = std::vector<BatchPtr>;

  Batcher(BatchLimits limits, std::shared_ptr<const FlushPolicy> policy,
          std::shared_ptr<BatchObserver> observer, BatchClock now)
      : limits_(limits),
        policy_(std::move(policy)),
        observer_(std::move(observer)),
        now_(std::move(now)) {}

  enum class Admission { admitted, wait, shed, withdrawn };

  // Under the lock. Parks `member` in the open batch if there is room for it now.
  Admission admit(const MemberPtr& member, const std::shared_ptr<Lane>& lane, bool may_wait,
                  Starts& starts) {
    if (member->outcome) return Admission::withdrawn;
    const bool first_in_line = admission_waiters_.empty() || admission_waiters_.front() == member;
    if (first_in_line && has_room_for(*member)) {
      if (member->waiting_admission) {
        admission_waiters_.pop_front();
        member->waiting_admission = false;
      }
      park(member, lane, starts);
      wake_next_in_line();
      return Admission::admitted;
    }
    if (may_wait &&
        (member->waiting_admission || admission_waiters_.size() < limits_.pending_limit())) {
      if (!member->waiting_admission) {
        admission_waiters_.push_back(member);
        member->waiting_admission = true;
      }
      return Admission::wait;
    }
    leave_line(*member);
    if (observer_) observer_->shed();
    return Admission::shed;
  }

  [[nodiscard]] bool fits_open(const Member& member) const {
    return open_->members.size() < limits_.max_batch_size &&
           open_->bytes + member.bytes <= limits_.max_batch_bytes &&
           (member.exclusive_key == 0 || !open_->exclusive_keys.contains(member.exclusive_key));
  }

  [[nodiscard]] bool can_form_batch() const {
    return queued_.size() < limits_.max_queued_batches ||
           (queued_.empty() && inflight_ < limits_.max_inflight_batches);
  }

  [[nodiscard]] bool has_room_for(const Member& member) const {
    if (pending_items_ >= limits_.pending_limit()) return false;
    return !open_ || fits_open(member) || can_form_batch();
  }

  void park(const MemberPtr& member, const std::shared_ptr<Lane>& lane, Starts& starts) {
    if (open_ && !fits_open(*member)) {
      seal_open(open_->members.size() >= limits_.max_batch_size ? FlushReason::size_cap
                : open_->bytes + member->bytes > limits_.max_batch_bytes
                    ? FlushReason::bytes_cap
                    : FlushReason::duplicate_key,
                starts);
    }
    const auto now = now_();
    if (!open_) {
      open_batch(lane, now);
    } else {
      open_->arrivals.add(now);
    }
    Batch& batch = *open_;
    batch.members.push_back(member);
    batch.bytes += member->bytes;
    if (member->exclusive_key != 0) batch.exclusive_keys.insert(member->exclusive_key);
    member->batch = &batch;
    ++pending_items_;

    // The envelope first, then the policy: it can only make the batch go earlier.
    if (batch.members.size() >= limits_.max_batch_size) {
      seal_open(FlushReason::size_cap, starts);
    } else if (batch.bytes >= limits_.max_batch_bytes) {
      seal_open(FlushReason::bytes_cap, starts);
    } else if (shutting_down_) {
      seal_open(FlushReason::shutdown, starts);
    } else if (batch.due) {
      seal_open(*batch.due, starts);  // it should have gone already: now, if there is room
    } else if (auto reason = policy_->decide(state_of(batch, now))) {
      seal_open(*reason, starts);
    }
  }

  // What the policy sees of an open batch; under the mutex.
  [[nodiscard]] GroupState state_of(const Batch& batch,
                                    std::chrono::steady_clock::time_point now) const noexcept {
    GroupState state{batch.members.size(),    limits_.max_batch_size, batch.bytes,
                     limits_.max_batch_bytes, now - batch.opened,     limits_.max_wait};
    batch.arrivals.describe(state, now);
    return state;
  }

  // Called on the lane's executor (by submit), so the batch's timer is armed on its thread.
  // The timer fires at max_wait, and before it at every policy tick (FlushPolicy::tick).
  void open_batch(const std::shared_ptr<Lane>& lane, std::chrono::steady_clock::time_point now) {
    open_ = std::make_shared<Batch>(lane, now);
    auto timer = std::make_shared<boost::asio::steady_timer>(lane->executor);
    timer->expires_after(next_wake(*open_, now) - now);
    open_->timer = timer;
    arm(open_, timer);
  }

  [[nodiscard]] std::chrono::steady_clock::time_point next_wake(
      const Batch& batch, std::chrono::steady_clock::time_point now) const {
    const auto deadline = batch.opened + limits_.max_wait;
    const auto tick = policy_->tick();
    return tick > std::chrono::nanoseconds::zero() ? std::min(deadline, now + tick) : deadline;
  }

  // The handler owns the timer, the batcher and the batch until the timer fires or is
  // cancelled (or the io_context is destroyed with the handler still pending).
  void arm(const BatchPtr& batch, const std::shared_ptr<boost::asio::steady_timer>& timer) {
    timer->async_wait(
        [self = this->shared_from_this(), batch, timer](const boost::system::error_code& ec) {
          if (!ec) self->on_timer(batch, timer);
        });
  }

  // On the lane's executor, where the timer lives. A sealed batch's timer is cancelled by a
  // post that may arrive after it fired: the batch is then no longer open_, and nothing
  // happens.
  void on_timer(const BatchPtr& batch, const std::shared_ptr<boost::asio::steady_timer>& timer) {
    Starts starts;
    {
      std::lock_guard lock(mutex_);
      if (open_ != batch) return;
      const auto now = now_();
      if (now >= batch->opened + limits_.max_wait) {
        if (batch->members.empty()) {
          open_.reset();  // every member withdrew
          return;
        }
        seal_open(FlushReason::timeout, starts);
      } else if (!batch->members.empty() && !batch->due) {
        if (auto reason = policy_->decide(state_of(*batch, now))) {
          seal_open(*reason, starts);
        }
      }
      // Still open and not due (a due batch goes when a call slot frees): the next tick.
      if (open_ == batch && !batch->due && now < batch->opened + limits_.max_wait) {
        timer->expires_after(next_wake(*batch, now) - now);
        arm(batch, timer);
      }
    }
    start(std::move(starts));
  }

  // Under the lock: the open batch stops taking items and goes (or queues), if a call slot or
  // a queue place is free; otherwise it stays open, marked due, until one is.
  void seal_open(FlushReason reason, Starts& starts) {
    if (!can_form_batch()) {
      if (!open_->due) open_->due = reason;
      return;
    }
    BatchPtr batch = std::move(open_);
    open_.reset();
    // Due now, unless it already was and waited for room: a timer that fired late (its worker
    // was busy) does not lengthen the members' wait.
    const bool waited_for_room = batch->due.has_value();
    batch->reason = batch->due.value_or(reason);
    if (!waited_for_room && queued_.empty() && inflight_ < limits_.max_inflight_batches) {
      const auto now = now_();
      batch->left_at =
          reason == FlushReason::timeout ? std::min(now, batch->opened + limits_.max_wait) : now;
    }
    // The timer is touched only on its own executor; a fired timer finds the batch sealed.
    if (!closed()) {
      boost::asio::post(batch->lane->executor, [timer = batch->timer] {
        if (auto alive = timer.lock()) alive->cancel();
      });
    }
    // A batch every member withdrew from (it was due, waiting for room) goes nowhere.
    if (!batch->members.empty()) queued_.push_back(std::move(batch));
    dispatch(starts);
  }

  void dispatch(Starts& starts) {
    while (inflight_ < limits_.max_inflight_batches && !queued_.empty()) {
      BatchPtr batch = std::move(queued_.front());
      queued_.pop_front();
      if (batch->members.empty()) continue;  // every member withdrew while it queued
      for (const MemberPtr& member : batch->members) member->batch = nullptr;  // it has left
      batch->departed = now_();
      if (batch->left_at == std::chrono::steady_clock::time_point{}) {
        batch->left_at = batch->departed;  // it waited for a call slot: its wait ends now
      }
      if (observer_) {
        observer_->flushed(batch->reason, batch->members.size(), batch->bytes,
                           batch->departed - batch->opened);
      }
      ++inflight_;
      starts.push_back(std::move(batch));
    }
  }

  // Outside the lock. A batch that left is read by its call only: no one else touches its
  // members' items any more.
  void start(Starts starts) {
    if (closed()) return;
    for (BatchPtr& batch : starts) {
      const auto executor = batch->lane->executor;
      boost::asio::co_spawn(executor, run_call(this->shared_from_this(), std::move(batch)),
                            boost::asio::detached);
    }
  }

  static boost::asio::awaitable<void> run_call(std::shared_ptr<Batcher> self, BatchPtr batch) {
    std::vector<Item> items;
    items.reserve(batch->members.size());
    for (const MemberPtr& member : batch->members) items.push_back(std::move(member->item));
    BatchReply<Result> reply;
    try {
      reply = co_await batch->lane->call(std::move(items));
    } catch (const std::exception& e) {
      reply = BatchFailure{BatchError::call_failed, std::string("batch call failed: ") + e.what()};
    } catch (...) {
      reply = BatchFailure{BatchError::call_failed, "batch call failed: unknown exception"};
    }
    if (self->observer_) {
      const auto* failure = std::get_if<BatchFailure>(&reply);
      self->observer_->call_finished(FinishedBatch{
          batch->reason, batch->members.size(), batch->bytes, batch->departed - batch->opened,
          self->now_() - batch->departed, failure == nullptr,
          failure != nullptr ? failure->code : 0, &batch->arrivals});
    }
    self->finish(*batch, std::move(reply));
  }

  // Wake-ups grouped by the members' executors: one post per worker and batch, not one per
  // member, and each worker resumes its own members (in parallel with the others).
  struct WakeGroup {
    boost::asio::any_io_executor executor;
    std::vector<std::weak_ptr<boost::asio::steady_timer>> timers;
  };
  using Wakes = std::vector<WakeGroup>;

  static void add_wake(Wakes& wakes, const Member& member) {
    auto group = std::find_if(wakes.begin(), wakes.end(), [&member](const WakeGroup& g) {
      return g.executor == member.executor_;
    });
    if (group == wakes.end()) group = wakes.insert(wakes.end(), WakeGroup{member.executor_, {}});
    group->timers.push_back(member.timer);
  }

  // Outside the lock. The other workers' groups first, so that they start while this one
  // (`here`) is still posting; each group's cancels run on its own executor, where the timers
  // live.
  void post_wakes(Wakes wakes, const boost::asio::any_io_executor& here) const {
    if (closed()) return;
    for (const bool local : {false, true}) {
      for (WakeGroup& group : wakes) {
        if ((group.executor == here) != local) continue;
        boost::asio::post(group.executor, [timers = std::move(group.timers)] {
          for (const auto& timer : timers) {
            if (auto alive = timer.lock()) alive->cancel();
          }
        });
      }
    }
  }

  void finish(Batch& batch, BatchReply<Result> reply) {
    const std::size_t count = batch.members.size();
    auto* results = std::get_if<std::vector<Result>>(&reply);
    if (results != nullptr && results->size() != count) {
      reply = BatchFailure{BatchError::call_failed,
                           "batch call answered " + std::to_string(results->size()) +
                               " results for " + std::to_string(count) + " items"};
      results = nullptr;
    }
    Starts starts;
    Wakes wakes;
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = 0; i < count; ++i) {
        Member& member = *batch.members[i];
        if (results != nullptr) {
          if constexpr (TakesLeftAt<Result>) (*results)[i].left_at = batch.left_at;
          member.outcome.emplace(std::in_place_index<0>, std::move((*results)[i]));
        } else {
          member.outcome.emplace(std::in_place_index<1>, std::get<BatchFailure>(reply));
        }
        member.ready.store(true, std::memory_order_release);
        add_wake(wakes, member);
      }
      if (observer_) observer_->answered(count, results != nullptr);
      --inflight_;
      pending_items_ -= count;
      // The call slot first: it may free a queue place, which the due open batch needs.
      dispatch(starts);
      if (open_ && open_->due) seal_open(*open_->due, starts);
      wake_next_in_line();
    }
    post_wakes(std::move(wakes), batch.lane->executor);
    start(std::move(starts));
  }

  // Under the lock. Called on the member's own executor (its cancellation slot, or its
  // frame's destruction), so its timer may be cancelled here directly.
  void withdraw(const MemberPtr& member) {
    std::lock_guard lock(mutex_);
    if (member->outcome) return;
    if (Batch* batch = member->batch) {
      auto& members = batch->members;
      std::erase(members, member);
      batch->bytes -= member->bytes;
      if (member->exclusive_key != 0) batch->exclusive_keys.erase(member->exclusive_key);
      member->batch = nullptr;
      --pending_items_;
    } else if (!member->waiting_admission) {
      return;  // its batch left: the result will be dropped
    }
    leave_line(*member);
    member->outcome.emplace(std::in_place_index<1>,
                            BatchFailure{BatchError::withdrawn, "withdrawn before its batch left"});
    member->ready.store(true, std::memory_order_release);
    if (observer_) observer_->withdrawn();
    if (auto timer = member->timer.lock()) timer->cancel();
    wake_next_in_line();  // the place it held may be what the first in line waits for
  }

  // Under the lock: out of the admission line, passing the turn on if it was first.
  void leave_line(Member& member) {
    if (!member.waiting_admission) return;
    member.waiting_admission = false;
    const bool was_first = &*admission_waiters_.front() == &member;
    std::erase_if(admission_waiters_, [&member](const MemberPtr& m) { return m.get() == &member; });
    if (was_first) wake_next_in_line();
  }

  void wake_next_in_line() {
    if (!admission_waiters_.empty() && has_room_for(*admission_waiters_.front())) {
      wake(admission_waiters_.front());
    }
  }

  // The cancel runs on the member's executor, where its timer lives; a wake that arrives
  // when the member is not waiting is harmless (it re-checks under the lock).
  void wake(const MemberPtr& member) const {
    if (!closed()) {
      boost::asio::post(member->executor_, [timer = member->timer] {
        if (auto alive = timer.lock()) alive->cancel();
      });
    }
  }

  [[nodiscard]] bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

  const BatchLimits limits_;
  const std::shared_ptr<const FlushPolicy> policy_;
  const std::shared_ptr<BatchObserver> observer_;
  const BatchClock now_;

  mutable std::mutex mutex_;
  BatchPtr open_;
  std::deque<BatchPtr> queued_;
  std::deque<MemberPtr> admission_waiters_;
  std::size_t inflight_ = 0;
  std::size_t pending_items_ = 0;
  bool shutting_down_ = false;
  std::atomic<bool> closed_{false};

 public:
  // One executor's way in (seed 001's BatchProcessorHandle). Cheap to copy.
  class Handle {
   public:
    Handle() = default;

    // Parks `item` (its size `bytes` counts against max_batch_bytes) and resumes with its own
    // result. `exclusive_key`: see above; 0 for none. Emitting on `withdraw` takes the item
    // out of its batch if the batch has not left.
    [[nodiscard]] boost::asio::awaitable<Outcome> submit(
        Item item, std::size_t bytes, std::uint64_t exclusive_key = 0,
        boost::asio::cancellation_slot withdraw = {}) const {
      const std::shared_ptr<Batcher> batcher = batcher_;
      const std::shared_ptr<Lane> lane = lane_;
      if (bytes > batcher->limits_.max_batch_bytes) {
        co_return BatchFailure{BatchError::too_large, "item of " + std::to_string(bytes) +
                                                          " bytes is larger than max_batch_bytes"};
      }
      auto member = std::make_shared<Member>(lane->executor, std::move(item), bytes, exclusive_key);
      auto timer = std::make_shared<boost::asio::steady_timer>(
          lane->executor, boost::asio::steady_timer::time_point::max());
      member->timer = timer;
      // Every way out (answered, withdrawn, frame destroyed) unhooks the slot and, unless the
      // member has its outcome, takes it out of the batcher.
      struct Leave {
        std::shared_ptr<Batcher> batcher;
        MemberPtr member;
        boost::asio::cancellation_slot slot;
        bool settled = false;  // answered or shed: the batcher no longer holds the member
        ~Leave() {
          if (slot.is_connected()) slot.clear();
          if (!settled) batcher->withdraw(member);
        }
      } leave{batcher, member, withdraw};
      if (withdraw.is_connected()) {
        withdraw.assign(
            [batcher, member](boost::asio::cancellation_type) { batcher->withdraw(member); });
      }

      const auto deadline = batcher->now_() + batcher->limits_.admission_timeout;
      for (;;) {
        Starts starts;
        Admission admission = Admission::shed;
        std::chrono::steady_clock::time_point now;
        {
          std::lock_guard lock(batcher->mutex_);
          now = batcher->now_();
          admission = batcher->admit(member, lane, now < deadline, starts);
        }
        batcher->start(std::move(starts));
        if (admission == Admission::admitted) break;
        if (admission == Admission::shed) {
          leave.settled = true;
          co_return BatchFailure{BatchError::shed, "no capacity for the item (batch queue full)"};
        }
        if (admission == Admission::withdrawn) break;  // the outcome is already there
        timer->expires_after(deadline - now);
        boost::system::error_code ignored;
        co_await timer->async_wait(
            boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
      }
      timer->expires_at(boost::asio::steady_timer::time_point::max());
      for (;;) {
        if (member->ready.load(std::memory_order_acquire)) {
          leave.settled = true;  // the batcher holds nothing of it any more: no lock on the way out
          co_return std::move(*member->outcome);
        }
        boost::system::error_code ignored;  // woken by a cancel: re-check the outcome
        co_await timer->async_wait(
            boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
      }
    }

    [[nodiscard]] const boost::asio::any_io_executor& executor() const noexcept {
      return lane_->executor;
    }

   private:
    friend class Batcher;
    Handle(std::shared_ptr<Batcher> batcher, std::shared_ptr<Lane> lane)
        : batcher_(std::move(batcher)), lane_(std::move(lane)) {}
    std::shared_ptr<Batcher> batcher_;
    std::shared_ptr<Lane> lane_;
  };
};

}  // namespace levee
