#pragma once
// The collapse layer (DESIGN.md "Collapse"). The first request of a key is the slot's leader.
// - `inflight`: the leader calls the inner service at once; identical requests that arrive
//   while that call is in flight join its slot and get its answer.
// - `window`: the leader parks the slot until it should go upstream: at once (policy
//   `immediate`), when max_wait has passed since it opened, or when it is full (max_waiters
//   followers), whichever comes first (policies `timer` and `size` are this envelope with
//   different settings); a request that arrives after the slot went upstream opens a new
//   one, so every answer comes from a call made after its request arrived. Shutdown
//   (SlotTable::flush_all) sends every parked slot at once.
// The table is shared by every worker (SlotTable), so identical requests on different worker
// threads share one call.
//
// - A response with Set-Cookie is given to the leader only: the followers are released to
//   call the inner service on their own (a session cookie must never be shared).
// - An inner-service error answer (502/504 from the upstream layer) is shared like any
//   answer: every member gets it, none is retried silently.
// - A leader whose coroutine is destroyed before its answer (client gone, shutdown) releases
//   the followers to call on their own; nothing waits forever.
// - A follower whose coroutine is destroyed, or whose client goes away while it waits
//   (core::ClientWatch), leaves its slot at once.
// - Table full (max_slots): the request passes through uncollapsed.
//
// Runs on the calling worker's io_context; followers are woken there by an event.
// - leader_age (inflight, SlotTable): a request that joins a slot older than it makes a
//   second call, and the first answer serves the slot.
// - Policies that measure (adaptive, learned) see every collapsible request's arrival and
//   every slot's upstream latency through the route's FlushReporter, which also sends one
//   flush telemetry event per slot; a window leader asks its policy again at every tick
//   (FlushPolicy::tick) between arrivals.

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "admin/metrics.hpp"
#include "core/service.hpp"
#include "layers/collapse/collapse_key.hpp"
#include "layers/collapse/slot_table.hpp"
#include "policy/flush_reporter.hpp"

namespace levee::layers::collapse {

// Which requests collapse and what their key holds; fixed for the route's lifetime.
struct CollapseRules {
  std::vector<std::string> methods = {"GET", "HEAD"};
  std::vector<std::string> vary = {"authorization", "cookie", "accept", "accept-encoding",
                                   "accept-language"};
  // Adds `X-Levee-Collapse: leader|follower; members=N; worker=W` to collapsed answers
  // (debugging).
  bool debug_header = false;
  Strategy strategy = Strategy::inflight;
  // window: asked when the leader arrives (the SlotTable asks it at each follower's arrival).
  std::shared_ptr<const FlushPolicy> policy = std::make_shared<EnvelopePolicy>("timer");
  std::chrono::nanoseconds max_wait{std::chrono::milliseconds(50)};  // window
  // Arrivals, upstream latencies and flush events; null: nothing is reported.
  std::shared_ptr<policy::FlushReporter> reporter;

  [[nodiscard]] bool applies_to(const std::string& method) const {
    return std::find(methods.begin(), methods.end(), method) != methods.end();
  }
  // GET and HEAD carry no meaningful body; any other collapsible method keys on its body.
  [[nodiscard]] static bool keys_body(const std::string& method) {
    return method != "GET" && method != "HEAD";
  }
};

// The route's Prometheus children (proxy/proxy_metrics.cpp); any may be null (unit tests).
struct CollapseMetrics {
  admin::Counter* leaders = nullptr;
  admin::Counter* followers = nullptr;
  admin::Counter* bypassed = nullptr;
  admin::Counter* gone = nullptr;  // followers that left because their client went away
  // levee_batch_flush_total by reason (FlushReason order); inflight slots flush immediately.
  std::array<admin::Counter*, k_flush_reasons> flushes{};
  admin::Histogram* size_at_flush = nullptr;    // inflight: requests the call answered
  admin::Histogram* age_ms_at_flush = nullptr;  // inflight: the slot's life, open to answer
};

// How requests went through the layer, for /stats and tests; shared by every worker.
struct CollapseCounters {
  std::atomic<std::uint64_t> leaders{0};    // went upstream for a slot
  std::atomic<std::uint64_t> followers{0};  // answered from another request's call
  std::atomic<std::uint64_t> bypassed{0};   // table full, or released by the leader
  std::atomic<std::uint64_t> gone{0};       // followers whose client went away first
  CollapseMetrics metrics;

  void count_leader() { bump(leaders, metrics.leaders); }
  void count_follower() { bump(followers, metrics.followers); }
  void count_bypass() { bump(bypassed, metrics.bypassed); }
  void count_gone() { bump(gone, metrics.gone); }

 private:
  static void bump(std::atomic<std::uint64_t>& counter, admin::Counter* metric) {
    counter.fetch_add(1, std::memory_order_relaxed);
    if (metric != nullptr) metric->inc();
  }
};

// Answered to a follower whose client went away while it waited (nginx's 499).
inline constexpr int k_client_closed = 499;

template <core::Service Inner>
class CollapseService {
 public:
  CollapseService(Inner inner, std::shared_ptr<SlotTable> table,
                  std::shared_ptr<const CollapseRules> rules,
                  std::shared_ptr<CollapseCounters> counters, unsigned worker = 0)
      : inner_(std::move(inner)),
        table_(std::move(table)),
        rules_(std::move(rules)),
        counters_(std::move(counters)),
        worker_(worker) {}

  [[nodiscard]] boost::asio::awaitable<core::Response> call(core::Request request) {
    if (!rules_->applies_to(request.method)) co_return co_await inner_.call(std::move(request));
    if (rules_->reporter) rules_->reporter->arrival(std::chrono::steady_clock::now());
    Joined joined = table_->join(
        make_collapse_key(request, rules_->vary, CollapseRules::keys_body(request.method)));
    if (joined.role == Role::leader)
      co_return co_await lead(std::move(joined.slot), std::move(request));
    if (joined.role == Role::second_leader) {
      // Races the slow leader: its own answer is its own, and if it comes first it serves
      // the followers too (finish_sharing does nothing for a slot already finished).
      counters_->count_leader();
      core::Response response = co_await inner_.call(std::move(request));
      if (!response.headers.contains("set-cookie"))
        (void)table_->finish_sharing(joined.slot, response);
      co_return response;
    }
    if (joined.role == Role::follower) {
      SharedResponse shared = co_await follow(joined.slot, request.client.get());
      if (shared) {
        counters_->count_follower();
        core::Response response(*shared);  // the headers and the body buffer are shared
        if (rules_->debug_header) {
          mark(response, "follower", table_->members_of(joined.slot));
        }
        co_return response;
      }
    }
    if (request.client && request.client->gone()) {
      // nginx's 499: nobody reads it, but the access log and the metrics show why.
      counters_->count_gone();
      core::Response gone = core::Response::text(k_client_closed, "client closed request");
      gone.close_connection = true;
      co_return gone;
    }
    counters_->count_bypass();
    co_return co_await inner_.call(std::move(request));
  }

  [[nodiscard]] Inner& inner() noexcept { return inner_; }

 private:
  // Finishes the slot with "call on your own" if the leader's frame dies without an answer.
  struct LeaderGuard {
    SlotTable* table;
    std::shared_ptr<Slot> slot;
    ~LeaderGuard() {
      if (slot) table->finish(slot, nullptr);
    }
  };

  struct FollowerGuard {
    SlotTable* table;
    std::shared_ptr<Slot> slot;
    std::shared_ptr<Waiter> waiter;
    ~FollowerGuard() {
      if (waiter) table->leave(slot, waiter);
    }
  };

  boost::asio::awaitable<core::Response> lead(std::shared_ptr<Slot> slot, core::Request request) {
    counters_->count_leader();
    const auto opened = std::chrono::steady_clock::now();
    const CollapseMetrics& metrics = counters_->metrics;
    LeaderGuard guard{table_.get(), slot};
    GroupState at_flush{1, table_->max_waiters() + 1, 0, 0, {}, rules_->max_wait};
    FlushReason reason = FlushReason::immediate;
    if (rules_->strategy == Strategy::window) {
      std::optional<FlushReason> go = co_await park(slot);
      std::size_t members = 0;
      std::tie(members, reason) = table_->dispatch(slot, go.value_or(FlushReason::immediate));
      at_flush.size = members;
      at_flush.age = std::chrono::steady_clock::now() - opened;
      count_flush(reason, members, at_flush.age);
    } else {
      count_flush(FlushReason::immediate, std::nullopt, {});
    }
    const auto departed = std::chrono::steady_clock::now();
    core::Response response = co_await inner_.call(std::move(request));
    const auto answered = std::chrono::steady_clock::now();
    guard.slot.reset();
    // Set-Cookie: the answer is the leader's alone; null releases the followers.
    const std::size_t served = response.headers.contains("set-cookie")
                                   ? table_->finish(slot, nullptr)
                                   : table_->finish_sharing(slot, response);
    if (rules_->reporter) {
      // An inflight slot takes members until its answer: its size is known only now.
      if (rules_->strategy == Strategy::inflight) at_flush.size = served;
      rules_->reporter->flushed(policy::FlushedGroup{at_flush, reason, answered - departed,
                                                     response.status, !response.shed},
                                answered);
    }
    if (rules_->debug_header) mark(response, "leader", served);
    // An inflight slot takes members until its answer: its size and age are known only now.
    if (rules_->strategy == Strategy::inflight) {
      observe(metrics, served, std::chrono::steady_clock::now() - opened);
    }
    co_return response;
  }

  // Window leader: waits until the slot should go, and says why (nullopt: a reason an arrival
  // or shutdown recorded on the slot, which dispatch() returns). The policy is asked at
  // once (the leader's own arrival; `immediate` says go now), then by the arrivals
  // (SlotTable::join) and at every tick of a policy that has one; max_wait always ends it.
  boost::asio::awaitable<std::optional<FlushReason>> park(const std::shared_ptr<Slot>& slot) {
    const auto opened = std::chrono::steady_clock::now();
    std::optional<FlushReason> go = rules_->policy->decide(
        GroupState{1, table_->max_waiters() + 1, 0, 0, {}, rules_->max_wait});
    if (go) co_return go;
    const auto deadline = opened + rules_->max_wait;
    const auto tick = rules_->policy->tick();
    const auto next_wake = [deadline, tick](std::chrono::steady_clock::time_point now) {
      return tick > std::chrono::nanoseconds::zero() ? std::min(deadline, now + tick) : deadline;
    };
    auto waiter = std::make_shared<Waiter>(co_await boost::asio::this_coro::executor);
    waiter->timer().expires_at(next_wake(opened));
    if (!table_->park_leader(slot, waiter)) co_return std::nullopt;  // already due
    for (;;) {
      boost::system::error_code ec;  // operation_aborted: filled up, policy, shutdown
      co_await waiter->timer().async_wait(
          boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec) co_return std::nullopt;
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) co_return FlushReason::timeout;
      // A wake posted by an arrival after this tick fired finds the reason recorded here.
      if (auto reason = table_->ask_on_tick(slot)) co_return reason;
      waiter->timer().expires_at(next_wake(now));
    }
  }

  void count_flush(FlushReason reason, std::optional<std::size_t> members,
                   std::chrono::steady_clock::duration age) {
    const CollapseMetrics& metrics = counters_->metrics;
    if (auto* counter = metrics.flushes[static_cast<std::size_t>(reason)]) counter->inc();
    if (members) observe(metrics, *members, age);
  }

  static void observe(const CollapseMetrics& metrics, std::size_t members,
                      std::chrono::steady_clock::duration age) {
    if (metrics.size_at_flush != nullptr) {
      metrics.size_at_flush->observe(static_cast<double>(members));
    }
    if (metrics.age_ms_at_flush != nullptr) {
      metrics.age_ms_at_flush->observe(std::chrono::duration<double, std::milli>(age).count());
    }
  }

  void mark(core::Response& response, std::string_view role, std::size_t members) const {
    response.headers.set("X-Levee-Collapse", std::string(role) +
                                                 "; members=" + std::to_string(members) +
                                                 "; worker=" + std::to_string(worker_));
  }

  // Null: released without an answer (Set-Cookie, leader gone), or the client went away.
  boost::asio::awaitable<SharedResponse> follow(std::shared_ptr<Slot> slot,
                                                core::ClientWatch* client) {
    auto waiter = std::make_shared<Waiter>(co_await boost::asio::this_coro::executor);
    // leave() on every way out: a no-op once the slot is finished, and the way a follower
    // woken or destroyed early gives its place back.
    FollowerGuard guard{table_.get(), slot, waiter};
    if (SharedResponse ready = table_->wait_or_take(slot, waiter)) co_return ready;
    // Both wake-ups run on this executor, where the waiter's timer lives.
    struct WatchScope {
      core::ClientWatch* client;
      ~WatchScope() {
        if (client != nullptr) client->stop_watching();
      }
    } watch{client};
    if (client != nullptr) client->watch([waiter] { waiter->timer().cancel(); });
    boost::system::error_code woken;  // operation_aborted: finish() or the watch cancelled it
    co_await waiter->timer().async_wait(
        boost::asio::redirect_error(boost::asio::use_awaitable, woken));
    if (client != nullptr && client->gone()) co_return nullptr;
    co_return table_->response_of(slot);
  }

  Inner inner_;
  std::shared_ptr<SlotTable> table_;
  std::shared_ptr<const CollapseRules> rules_;
  std::shared_ptr<CollapseCounters> counters_;
  unsigned worker_;  // this instance's worker, named by the debug header
};

}  // namespace levee::layers::collapse
