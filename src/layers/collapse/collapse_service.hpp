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
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
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
#include "layers/collapse/fleet/fleet_lease.hpp"
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
  // fleet = true: a slot's call asks the fleet first (fleet/fleet_lease.hpp); null: off.
  std::shared_ptr<const fleet::FleetRules> fleet;

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
  admin::Histogram* size_at_flush = nullptr;  // inflight: requests the call answered
  admin::Histogram* age_at_flush = nullptr;   // inflight: the slot's life, open to answer
};

// How requests went through the layer, for /stats and tests; shared by every worker.
struct CollapseCounters {
  std::atomic<std::uint64_t> leaders{0};    // went upstream for a slot
  std::atomic<std::uint64_t> followers{0};  // answered from another request's call
  std::atomic<std::uint64_t> bypassed{0};   // table full, or released by the leader
  std::atomic<std::uint64_t> gone{0};       // followers whose client went away first
  CollapseMetrics metrics;
  std::shared_ptr<fleet::FleetCounters> fleet;  // fleet = true only

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
                  std::shared_ptr<CollapseCounters> counters, unsigned worker = 0,
                  std::shared_ptr<fleet::FleetClient> fleet = nullptr)
      : inner_(std::make_shared<Inner>(std::move(inner))),
        table_(std::move(table)),
        rules_(std::move(rules)),
        counters_(std::move(counters)),
        worker_(worker),
        fleet_(rules_->fleet ? std::move(fleet) : nullptr) {}

  [[nodiscard]] boost::asio::awaitable<core::Response> call(core::Request request) {
    if (!rules_->applies_to(request.method)) co_return co_await inner_->call(std::move(request));
    // The key holds the body, and a slot's call outlives this request's connection: the body
    // is read whole first (the server's max_body_bytes bounds it).
    if (request.body_stream && !co_await core::read_whole_body(request)) {
      co_return core::Response::text(400, "request body cut short");
    }
    const auto joined_at = std::chrono::steady_clock::now();
    if (rules_->reporter) rules_->reporter->arrival(joined_at);
    Joined joined = table_->join(
        make_collapse_key(request, rules_->vary, CollapseRules::keys_body(request.method)));
    core::ClientWatch* client = request.client.get();
    if (joined.role != Role::bypass) {
      const boost::asio::any_io_executor executor = co_await boost::asio::this_coro::executor;
      // Counted in by join(); from here this frame only waits, and leaving counts it out.
      std::shared_ptr<void> membership = adopt_membership(joined.slot->call);
      MemberGuard guard{table_.get(), joined.slot};
      if (joined.role == Role::leader) {
        counters_->count_leader();
        if (!co_await lead(joined.slot, request, executor)) {
          co_return client_closed();  // parked alone and its client left: no call at all
        }
      } else if (joined.role == Role::second_leader) {
        // A slow call (leader_age): a second one races it, and the first head serves all.
        counters_->count_leader();
        const auto now = std::chrono::steady_clock::now();
        start_call(joined.slot, request, executor, GroupState{}, FlushReason::immediate, now, now);
      }
      const bool opener = joined.role != Role::follower;
      std::optional<core::Response> answer =
          co_await member(joined.slot, client, opener, std::move(membership));
      if (answer) {
        if (request.phases != nullptr) account(*request.phases, *joined.slot->call, joined_at);
        guard.slot.reset();  // served: the slot's count stays as the call's audience
        if (!opener) counters_->count_follower();
        co_return std::move(*answer);
      }
    }
    if (client != nullptr && client->gone()) co_return client_closed();
    counters_->count_bypass();
    co_return co_await inner_->call(std::move(request));
  }

  [[nodiscard]] Inner& inner() noexcept { return *inner_; }

 private:
  // A member that leaves without an answer gives its place in the slot back.
  struct MemberGuard {
    SlotTable* table;
    std::shared_ptr<Slot> slot;
    ~MemberGuard() {
      if (slot) table->leave(slot);
    }
  };

  // A member's wait, split (core/phases.hpp): parked until the slot was due to go (a window's
  // wait; none for a member that joined a call in flight), upstream from the call's start
  // (its fleet lease included) until its answer's head was in. The rest is levee's: the
  // leader getting the call going, and this member being woken and resumed once the answer
  // was in. A streamed body's remainder is read while it is written, and counts as levee's.
  static void account(core::Phases& phases, const SharedCall& call,
                      std::chrono::steady_clock::time_point joined_at) {
    using Moment = SharedCall::Moment;
    const auto now = std::chrono::steady_clock::now();
    const auto left = std::clamp(call.when(Moment::left), joined_at, now);
    const auto started = std::clamp(call.when(Moment::started), left, now);
    const auto answered = std::clamp(call.when(Moment::answered), started, now);
    phases.parked += left - joined_at;
    phases.upstream += answered - started;
  }

  core::Response client_closed() {
    // nginx's 499: nobody reads it, but the access log and the metrics show why.
    counters_->count_gone();
    core::Response gone = core::Response::text(k_client_closed, "client closed request");
    gone.close_connection = true;
    return gone;
  }

  // The opener: parks a window slot until it should go, then starts the slot's call. False
  // when its client left while the slot had no other member (nothing is called then).
  boost::asio::awaitable<bool> lead(const std::shared_ptr<Slot>& slot, const core::Request& request,
                                    const boost::asio::any_io_executor& executor) {
    const auto opened = std::chrono::steady_clock::now();
    GroupState at_flush{1, table_->max_waiters() + 1, 0, 0, {}, rules_->max_wait};
    FlushReason reason = FlushReason::immediate;
    auto left_at = opened;
    if (rules_->strategy == Strategy::window) {
      std::optional<FlushReason> go = co_await park(slot, opened);
      if (request.client && request.client->gone() && table_->members_of(slot) <= 1) {
        (void)table_->finish(slot);
        slot->call->fail(core::BodyError::cancelled);
        co_return false;
      }
      // A timeout was due at the deadline, however late the timer fired; the leader's own
      // policy decision, now.
      const auto due =
          go == FlushReason::timeout ? opened + rules_->max_wait : std::chrono::steady_clock::now();
      Departure departure = table_->dispatch(slot, go.value_or(FlushReason::immediate), due);
      at_flush = departure.state;
      reason = departure.reason;
      left_at = departure.left_at;
      count_flush(reason, at_flush.size, at_flush.age);
    } else {
      count_flush(FlushReason::immediate, std::nullopt, {});
    }
    start_call(slot, request, executor, at_flush, reason, opened, left_at);
    co_return true;
  }

  // Starts the slot's call as a coroutine of its own on this worker: no member's frame owns
  // it, so a member leaving never takes it down, and the last one leaving cancels it.
  // `left_at`: when the slot was due to go, where its members' wait ends.
  void start_call(const std::shared_ptr<Slot>& slot, const core::Request& request,
                  const boost::asio::any_io_executor& executor, GroupState at_flush,
                  FlushReason reason, std::chrono::steady_clock::time_point opened,
                  std::chrono::steady_clock::time_point left_at) {
    slot->call->mark(SharedCall::Moment::left, left_at);
    core::Request copy = request;
    copy.client = nullptr;  // the call outlives any one client
    copy.phases = nullptr;
    auto call = slot->call;
    boost::asio::co_spawn(executor,
                          run_call(inner_, table_, rules_, counters_, fleet_, slot, std::move(copy),
                                   at_flush, reason, opened),
                          boost::asio::bind_cancellation_slot(call->started_on(executor),
                                                              [call](std::exception_ptr) {}));
  }

  // Marks the call failed if its frame dies before the end (a forced stop), so that no
  // member waits forever, and takes the slot out of the table.
  struct CallGuard {
    SlotTable* table;
    std::shared_ptr<Slot> slot;
    ~CallGuard() {
      if (!slot) return;
      (void)table->finish(slot);
      slot->call->fail(core::BodyError::cancelled);
    }
  };

  // A fleet lease this call holds is ended whatever way the call ends: with its answer, or
  // given up (so that another instance takes over at once instead of after lease_ttl).
  struct LeaseGuard {
    std::shared_ptr<fleet::FleetClient> client;
    std::string key;
    std::uint64_t token = 0;  // 0: no lease held
    void finish(std::optional<core::Response> answer) {
      if (token == 0) return;
      client->finish(key, std::exchange(token, 0), std::move(answer));
    }
    ~LeaseGuard() { finish(std::nullopt); }
  };

  static boost::asio::awaitable<void> run_call(std::shared_ptr<Inner> inner,
                                               std::shared_ptr<SlotTable> table,
                                               std::shared_ptr<const CollapseRules> rules,
                                               std::shared_ptr<CollapseCounters> counters,
                                               std::shared_ptr<fleet::FleetClient> fleet_client,
                                               std::shared_ptr<Slot> slot, core::Request request,
                                               GroupState at_flush, FlushReason reason,
                                               std::chrono::steady_clock::time_point opened) {
    co_await boost::asio::this_coro::throw_if_cancelled(false);
    CallGuard guard{table.get(), slot};
    SharedCall& call = *slot->call;
    const auto departed = std::chrono::steady_clock::now();
    call.mark(SharedCall::Moment::started, departed);
    LeaseGuard lease{fleet_client, {}, 0};
    std::optional<core::Response> from_fleet;
    if (fleet_client) {
      const fleet::FleetRules& fleet_rules = *rules->fleet;
      lease.key = fleet::lease_key(fleet_rules.route, fleet_rules.upstream, slot->key.text);
      fleet::Obtained obtained =
          co_await fleet::obtain(fleet_client, rules->fleet, counters->fleet, lease.key);
      switch (obtained.kind) {
        case fleet::Obtained::Kind::cancelled:
          co_return;  // every member left: the guard fails the call
        case fleet::Obtained::Kind::answer:
          from_fleet = std::move(obtained.answer);
          break;
        case fleet::Obtained::Kind::lead:
          lease.token = obtained.token;
          fleet_client->hold(lease.key, lease.token, rules->fleet, counters->fleet,
                             obtained.waited);
          break;
        case fleet::Obtained::Kind::local:
          break;
      }
    }
    core::Response response =
        from_fleet ? std::move(*from_fleet) : co_await inner->call(std::move(request));
    const auto answered = std::chrono::steady_clock::now();
    if (!call.claim()) {
      // The other call of the slot (leader_age) answered first: this answer is nobody's.
      guard.slot.reset();
      co_return;
    }
    call.mark(SharedCall::Moment::answered, answered);
    const bool shareable = !response.headers.contains("set-cookie");
    {
      const std::optional<std::uint64_t> declared =
          response.stream ? response.stream->length()
                          : std::optional<std::uint64_t>(response.body_size());
      if (declared && *declared > call.max_bytes()) {
        // Too large to replay to the members: what the upstream layer says of an answer
        // over max_response_bytes, before any member sees a head.
        response = core::Response::text(502, "upstream answer over the size limit for collapsing");
        response.upstream_failed = true;
      }
    }
    std::size_t served = 0;
    if (!response.stream) {
      // Whole already (most answers): the slot leaves the table first, so that every member
      // woken sees the final count, and no request joins a call that is over.
      served = table->finish(slot);
      call.publish_whole(response, shareable);
    } else {
      call.publish_head(response, shareable);
      for (;;) {
        core::BodyPiece piece = co_await response.stream->read();
        if (!piece) {
          call.fail(piece.error());
          break;
        }
        if (piece.value().empty()) {
          call.complete(response.stream->take_trailers());
          break;
        }
        if (!call.append(piece.value())) break;
      }
      response.stream.reset();  // the upstream connection, and with the response the permit
      served = table->finish(slot);
    }
    guard.slot.reset();
    // A call cut short because every member left has no answer to share: the lease is given
    // up, and another instance takes it over at once.
    lease.finish(call.abandoned() ? std::nullopt : call.whole_answer());
    if (rules->reporter) {
      // An inflight slot takes members until its answer: its size is known only now.
      if (rules->strategy == Strategy::inflight) at_flush.size = served;
      // The slot is finished: its arrivals are final, and no one else touches them.
      rules->reporter->flushed(
          policy::FlushedGroup{at_flush, reason, answered - departed, response.status,
                               !response.shed, &slot->arrivals},
          answered);
    }
    if (rules->strategy == Strategy::inflight && served > 0) {
      observe(counters->metrics, served, std::chrono::steady_clock::now() - opened);
    }
  }

  // A member (the opener included): waits for the call's head, then reads the body through
  // its own cursor. nullopt: released to call on its own (Set-Cookie, or the call ended
  // without an answer), or its client went away.
  boost::asio::awaitable<std::optional<core::Response>> member(const std::shared_ptr<Slot>& slot,
                                                               core::ClientWatch* client,
                                                               bool opener,
                                                               std::shared_ptr<void> membership) {
    std::shared_ptr<SharedCall> call = slot->call;
    auto waiter = std::make_shared<Waiter>(co_await boost::asio::this_coro::executor);
    struct ForgetScope {
      SharedCall& call;
      const std::shared_ptr<Waiter>& waiter;
      ~ForgetScope() { call.forget(waiter); }
    } forget{*call, waiter};
    struct WatchScope {
      core::ClientWatch* client;
      ~WatchScope() {
        if (client != nullptr) client->stop_watching();
      }
    } watch{nullptr};
    SharedCall::Head head;
    for (;;) {
      if (client != nullptr && client->gone()) co_return std::nullopt;
      const SharedCall::HeadState state = call->head_or_wait(head, waiter);
      if (state == SharedCall::HeadState::ready) break;
      if (state == SharedCall::HeadState::ended) co_return std::nullopt;
      if (client != nullptr && watch.client == nullptr) {
        watch.client = client;
        client->watch([waiter] { waiter->timer().cancel(); });
      }
      boost::system::error_code woken;  // operation_aborted: progress, or the client left
      waiter->timer().expires_at(boost::asio::steady_timer::time_point::max());
      co_await waiter->timer().async_wait(
          boost::asio::redirect_error(boost::asio::use_awaitable, woken));
    }
    if (!head.shareable && !opener) co_return std::nullopt;
    core::Response response = std::move(head.response);
    if (auto whole = call->whole_body()) {
      response.body = std::move(*whole);
      // A streamed call that ended before this member looked: its trailers came at the end,
      // not with its head.
      if (response.trailers.empty()) response.trailers = call->trailers();
    } else {
      response.stream = std::make_shared<ReplayStream>(call, std::move(membership), head.length);
    }
    if (rules_->debug_header) {
      mark(response, opener ? "leader" : "follower", table_->members_of(slot));
    }
    co_return response;
  }

  // Window leader: waits until the slot should go, and says why (nullopt: a reason an arrival
  // or shutdown recorded on the slot, which dispatch() returns). The policy is asked at
  // once (the leader's own arrival; `immediate` says go now), then by the arrivals
  // (SlotTable::join) and at every tick of a policy that has one; max_wait always ends it.
  boost::asio::awaitable<std::optional<FlushReason>> park(
      const std::shared_ptr<Slot>& slot, std::chrono::steady_clock::time_point opened) {
    std::optional<FlushReason> go = rules_->policy->decide(table_->state_of(slot));
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
    if (metrics.age_at_flush != nullptr) {
      metrics.age_at_flush->observe(std::chrono::duration<double>(age).count());
    }
  }

  void mark(core::Response& response, std::string_view role, std::size_t members) const {
    response.headers.set("X-Levee-Collapse", std::string(role) +
                                                 "; members=" + std::to_string(members) +
                                                 "; worker=" + std::to_string(worker_));
  }

  // Shared with the slot calls this worker runs, which may outlive this instance.
  std::shared_ptr<Inner> inner_;
  std::shared_ptr<SlotTable> table_;
  std::shared_ptr<const CollapseRules> rules_;
  std::shared_ptr<CollapseCounters> counters_;
  unsigned worker_;                            // this instance's worker, named by the debug header
  std::shared_ptr<fleet::FleetClient> fleet_;  // this worker's; null: the slot calls at once
};

}  // namespace levee::layers::collapse
