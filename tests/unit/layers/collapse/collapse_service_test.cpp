#include "layers/collapse/collapse_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "common/fake_client.hpp"

namespace levee::layers::collapse {
namespace {

namespace asio = boost::asio;

// An inner service that holds every call until the test opens its gate, counts calls, and
// answers with the request's target and credentials (and Set-Cookie when asked).
struct Gate {
  explicit Gate(asio::io_context& io) : timer(io, asio::steady_timer::time_point::max()) {}
  asio::steady_timer timer;
  bool open = false;
  void release() {
    open = true;
    timer.cancel();
  }
};

// A body that is all there at once, then a trailer section (a gRPC answer's grpc-status).
struct OnePieceWithTrailers final : core::BodyStream {
  explicit OnePieceWithTrailers(std::string text) : body(std::move(text)) {}
  asio::awaitable<core::BodyPiece> read() override {
    if (std::exchange(sent, true)) co_return core::BodyPiece(std::string_view{});
    co_return core::BodyPiece(std::string_view(body));
  }
  [[nodiscard]] std::optional<std::uint64_t> length() const noexcept override {
    return std::nullopt;
  }
  core::Headers take_trailers() override {
    core::Headers trailers;
    trailers.add("grpc-status", "0");
    return trailers;
  }
  std::string body;
  bool sent = false;
};

struct HeldService {
  std::shared_ptr<Gate> gate;
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  bool set_cookie = false;
  bool streamed_with_trailers = false;

  asio::awaitable<core::Response> call(core::Request request) {
    ++*calls;
    while (!gate->open) {
      boost::system::error_code ec;
      co_await gate->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    const std::string* authorization = request.headers.find("authorization");
    core::Response response = core::Response::text(
        200, request.target + " for " + (authorization ? *authorization : std::string("-")));
    if (set_cookie) response.headers.add("Set-Cookie", "session=1");
    if (streamed_with_trailers) {
      response.stream = std::make_shared<OnePieceWithTrailers>(std::string(response.body_view()));
      response.body.reset();
    }
    co_return response;
  }
};

core::Request get(std::string target, std::string authorization = {}) {
  core::Request request;
  request.method = "GET";
  request.target = std::move(target);
  request.headers.add("Host", "h");
  if (!authorization.empty()) request.headers.add("Authorization", authorization);
  return request;
}

struct Fixture {
  asio::io_context io;
  std::shared_ptr<Gate> gate = std::make_shared<Gate>(io);
  std::shared_ptr<SlotTable> table = std::make_shared<SlotTable>(100, 100);
  std::shared_ptr<CollapseCounters> counters = std::make_shared<CollapseCounters>();
  HeldService inner{gate};

  CollapseService<HeldService> service() {
    return CollapseService<HeldService>(inner, table, std::make_shared<const CollapseRules>(),
                                        counters);
  }
};

TEST(CollapseService, IdenticalConcurrentRequestsShareOneCall) {
  Fixture f;
  auto service = f.service();
  std::vector<std::string> bodies;
  for (int i = 0; i < 10; ++i) {
    asio::co_spawn(
        f.io, service.call(get("/a?x=1", "u1")),
        [&bodies](std::exception_ptr, core::Response r) { bodies.emplace_back(r.body_view()); });
  }
  f.io.poll();
  EXPECT_EQ(f.inner.calls->load(), 1);
  EXPECT_EQ(f.table->slots(), 1u);
  EXPECT_EQ(f.table->waiters(), 9u);
  f.gate->release();
  f.io.run();
  ASSERT_EQ(bodies.size(), 10u);
  for (const auto& body : bodies) EXPECT_EQ(body, "/a?x=1 for u1\n");
  EXPECT_EQ(f.counters->leaders.load(), 1u);
  EXPECT_EQ(f.counters->followers.load(), 9u);
  EXPECT_EQ(f.table->slots(), 0u);
  EXPECT_EQ(f.table->waiters(), 0u);
}

TEST(CollapseService, AStreamedAnswerThatEndedBeforeAMemberLookedKeepsItsTrailers) {
  Fixture f;
  f.inner.streamed_with_trailers = true;
  f.gate->release();  // each call's body and trailers are all read before its member looks
  auto service = f.service();
  std::vector<core::Response> answers;
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(
        f.io, service.call(get("/t", "u1")),
        [&answers](std::exception_ptr, core::Response r) { answers.push_back(std::move(r)); });
  }
  f.io.run();
  ASSERT_EQ(answers.size(), 3u);
  for (const auto& answer : answers) {
    EXPECT_EQ(answer.body_view(), "/t for u1\n");
    ASSERT_NE(answer.trailers.find("grpc-status"), nullptr);
    EXPECT_EQ(*answer.trailers.find("grpc-status"), "0");
  }
}

TEST(CollapseService, DifferentCredentialsOrQueriesGetTheirOwnCalls) {
  Fixture f;
  auto service = f.service();
  std::vector<std::string> bodies;
  for (auto [target, user] : std::vector<std::pair<std::string, std::string>>{
           {"/a", "u1"}, {"/a", "u2"}, {"/a?q", "u1"}, {"/a", ""}}) {
    asio::co_spawn(
        f.io, service.call(get(target, user)),
        [&bodies](std::exception_ptr, core::Response r) { bodies.emplace_back(r.body_view()); });
  }
  f.io.poll();
  EXPECT_EQ(f.inner.calls->load(), 4);
  f.gate->release();
  f.io.run();
  std::sort(bodies.begin(), bodies.end());
  EXPECT_EQ(bodies, (std::vector<std::string>{"/a for -\n", "/a for u1\n", "/a for u2\n",
                                              "/a?q for u1\n"}));
}

TEST(CollapseService, SetCookieAnswersAreNotShared) {
  Fixture f;
  f.inner.set_cookie = true;
  auto service = f.service();
  int answered = 0;
  for (int i = 0; i < 5; ++i) {
    asio::co_spawn(f.io, service.call(get("/login")),
                   [&answered](std::exception_ptr, core::Response) { ++answered; });
  }
  f.io.poll();
  EXPECT_EQ(f.inner.calls->load(), 1);
  f.gate->release();
  f.io.run();
  EXPECT_EQ(answered, 5);
  // The four followers were released to make their own calls.
  EXPECT_EQ(f.inner.calls->load(), 5);
  EXPECT_EQ(f.counters->bypassed.load(), 4u);
  EXPECT_EQ(f.table->slots(), 0u);
}

TEST(CollapseService, OtherMethodsPassThrough) {
  Fixture f;
  f.gate->release();
  auto service = f.service();
  for (int i = 0; i < 3; ++i) {
    core::Request post = get("/a");
    post.method = "POST";
    asio::co_spawn(f.io, service.call(std::move(post)), asio::detached);
  }
  f.io.run();
  EXPECT_EQ(f.inner.calls->load(), 3);
  EXPECT_EQ(f.counters->leaders.load(), 0u);
}

TEST(CollapseService, AFollowerThatGoesAwayLeavesTheSlot) {
  Fixture f;
  auto service = f.service();
  bool leader_answered = false;
  asio::co_spawn(
      f.io, service.call(get("/a")),
      [&leader_answered](std::exception_ptr, core::Response) { leader_answered = true; });
  {
    // A follower on its own io_context, destroyed while waiting: its frame dies with it.
    asio::io_context other;
    asio::co_spawn(other, service.call(get("/a")), asio::detached);
    f.io.poll();
    other.poll();
    EXPECT_EQ(f.table->waiters(), 1u);
  }
  EXPECT_EQ(f.table->waiters(), 0u);
  f.gate->release();
  f.io.run();
  EXPECT_TRUE(leader_answered);
  EXPECT_EQ(f.table->slots(), 0u);
}

TEST(CollapseService, ALeaderThatGoesAwayReleasesItsFollowers) {
  Fixture f;
  auto service = f.service();
  int followers_answered = 0;
  // The leader runs on its own io_context, which is destroyed with the leader's frame still
  // waiting for its inner call: the order below (service, gate, then io_context) destroys
  // the frame through the io_context, as a worker's shutdown would.
  auto leader_io = std::make_unique<asio::io_context>();
  auto leader_gate = std::make_shared<Gate>(*leader_io);
  auto leader_service = std::make_unique<CollapseService<HeldService>>(
      HeldService{leader_gate}, f.table, std::make_shared<const CollapseRules>(), f.counters);
  asio::co_spawn(*leader_io, leader_service->call(get("/a")), asio::detached);
  leader_io->poll();
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(
        f.io, service.call(get("/a")),
        [&followers_answered](std::exception_ptr, core::Response) { ++followers_answered; });
  }
  f.io.poll();
  EXPECT_EQ(f.table->waiters(), 3u);
  leader_service.reset();
  leader_gate.reset();
  leader_io.reset();
  f.gate->release();
  f.io.run();
  EXPECT_EQ(followers_answered, 3);
  EXPECT_EQ(f.inner.calls->load(), 3);  // each called on its own
  EXPECT_EQ(f.table->slots(), 0u);
}

using test::FakeClient;

// A leader for /a, then a follower whose connection is `client`; its status lands in `status`.
void lead_and_follow_watched(Fixture& f, CollapseService<HeldService>& service,
                             const std::shared_ptr<FakeClient>& client,
                             std::optional<int>& status) {
  asio::co_spawn(f.io, service.call(get("/a")), asio::detached);
  core::Request request = get("/a");
  request.client = client;
  asio::co_spawn(f.io, service.call(std::move(request)),
                 [&status](std::exception_ptr, core::Response r) { status = r.status; });
  f.io.poll();
}

TEST(CollapseService, AFollowerWhoseClientGoesAwayLeavesAtOnce) {
  Fixture f;
  auto service = f.service();
  auto client = std::make_shared<FakeClient>();
  std::optional<int> status;
  lead_and_follow_watched(f, service, client, status);
  ASSERT_TRUE(client->watched());
  EXPECT_EQ(f.table->waiters(), 1u);
  client->go_away();
  f.io.poll();
  // Answered and gone before the leader's call returns, without a call of its own.
  EXPECT_EQ(status, k_client_closed);
  EXPECT_EQ(f.table->waiters(), 0u);
  EXPECT_EQ(f.table->slots(), 1u);
  EXPECT_EQ(f.counters->gone.load(), 1u);
  EXPECT_EQ(f.inner.calls->load(), 1);
  f.gate->release();
  f.io.run();
  EXPECT_EQ(f.table->slots(), 0u);
}

TEST(CollapseService, AFollowerStopsWatchingOnceAnswered) {
  Fixture f;
  auto service = f.service();
  auto client = std::make_shared<FakeClient>();
  std::optional<int> status;
  lead_and_follow_watched(f, service, client, status);
  ASSERT_TRUE(client->watched());
  f.gate->release();
  f.io.run();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(client->watches, 1);
  EXPECT_FALSE(client->watched());
}

TEST(CollapseService, FollowersShareTheLeadersHeadersAndBody) {
  Fixture f;
  auto service = f.service();
  std::vector<core::Response> answers;
  for (int i = 0; i < 4; ++i) {
    asio::co_spawn(f.io, service.call(get("/a")), [&answers](std::exception_ptr, core::Response r) {
      answers.push_back(std::move(r));
    });
  }
  f.io.poll();
  f.gate->release();
  f.io.run();
  ASSERT_EQ(answers.size(), 4u);
  for (const auto& answer : answers) {
    EXPECT_TRUE(answer.headers.frozen());
    EXPECT_EQ(&*answer.headers.begin(), &*answers.front().headers.begin());
    EXPECT_EQ(answer.body.get(), answers.front().body.get());
  }
}

CollapseService<HeldService> window_service(Fixture& f, std::chrono::milliseconds max_wait,
                                            bool immediately = false) {
  auto rules = std::make_shared<CollapseRules>();
  rules->strategy = Strategy::window;
  rules->max_wait = max_wait;
  if (immediately) rules->policy = std::make_shared<ImmediatePolicy>();
  return CollapseService<HeldService>(f.inner, f.table, rules, f.counters);
}

TEST(CollapseService, WindowSlotWaitsForMaxWaitThenGoesOnce) {
  Fixture f;
  f.gate->release();
  f.table = std::make_shared<SlotTable>(100, 100, Strategy::window);
  auto service = window_service(f, std::chrono::milliseconds(30));
  int answered = 0;
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(f.io, service.call(get("/w")),
                   [&answered](std::exception_ptr, core::Response) { ++answered; });
  }
  f.io.poll();
  EXPECT_EQ(f.inner.calls->load(), 0);  // parked, not sent
  const auto started = std::chrono::steady_clock::now();
  f.io.run();
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(20));
  EXPECT_EQ(answered, 3);
  EXPECT_EQ(f.inner.calls->load(), 1);
  EXPECT_EQ(f.table->slots(), 0u);
}

// A policy that sends a slot once it has three members (as adaptive or learned might).
class GoAtThree final : public FlushPolicy {
 public:
  [[nodiscard]] std::optional<FlushReason> decide(const GroupState& group) const override {
    return group.size >= 3 ? std::optional(FlushReason::policy) : std::nullopt;
  }
  [[nodiscard]] std::string_view name() const noexcept override { return "go-at-three"; }
};

TEST(CollapseService, TheFlushPolicyCanSendAWindowSlotBeforeItsEnvelope) {
  Fixture f;
  auto policy = std::make_shared<GoAtThree>();
  f.table = std::make_shared<SlotTable>(100, 100, Strategy::window, std::chrono::nanoseconds{0},
                                        policy, std::chrono::hours(1));
  auto rules = std::make_shared<CollapseRules>();
  rules->strategy = Strategy::window;
  rules->max_wait = std::chrono::hours(1);
  rules->policy = policy;
  CollapseService<HeldService> service(f.inner, f.table, rules, f.counters);
  for (int i = 0; i < 2; ++i) asio::co_spawn(f.io, service.call(get("/w")), asio::detached);
  f.io.poll();
  EXPECT_EQ(f.inner.calls->load(), 0);  // two members: the policy waits
  asio::co_spawn(f.io, service.call(get("/w")), asio::detached);
  f.io.poll();
  EXPECT_EQ(f.inner.calls->load(), 1);  // the third: it goes, an hour before max_wait
  f.gate->release();
  f.io.run();
  EXPECT_EQ(f.inner.calls->load(), 1);
  EXPECT_EQ(f.table->slots(), 0u);
}

// Sends a slot once it is `after` old; asked only by a tick, since nobody else arrives.
class GoAfter final : public FlushPolicy {
 public:
  explicit GoAfter(std::chrono::nanoseconds after) : after_(after) {}
  [[nodiscard]] std::optional<FlushReason> decide(const GroupState& group) const override {
    asked.fetch_add(1);
    return group.age >= after_ ? std::optional(FlushReason::policy) : std::nullopt;
  }
  [[nodiscard]] std::string_view name() const noexcept override { return "go-after"; }
  [[nodiscard]] std::chrono::nanoseconds tick() const noexcept override {
    return std::chrono::milliseconds(1);
  }
  mutable std::atomic<int> asked{0};

 private:
  std::chrono::nanoseconds after_;
};

TEST(CollapseService, APolicyWithATickIsAskedBetweenArrivalsAndCanSendTheSlot) {
  Fixture f;
  f.gate->release();
  auto policy = std::make_shared<GoAfter>(std::chrono::milliseconds(5));
  f.table = std::make_shared<SlotTable>(100, 100, Strategy::window, std::chrono::nanoseconds{0},
                                        policy, std::chrono::hours(1));
  auto rules = std::make_shared<CollapseRules>();
  rules->strategy = Strategy::window;
  rules->max_wait = std::chrono::hours(1);
  rules->policy = policy;
  auto signals = std::make_shared<policy::RouteSignals>();
  rules->reporter =
      std::make_shared<policy::FlushReporter>("r", signals, nullptr, "go-after", true);
  f.counters->metrics = CollapseMetrics{};
  CollapseService<HeldService> service(f.inner, f.table, rules, f.counters);
  const auto started = std::chrono::steady_clock::now();
  asio::co_spawn(f.io, service.call(get("/w")), asio::detached);
  f.io.run();  // the slot went at a tick, an hour before its max_wait
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(5));
  EXPECT_EQ(f.inner.calls->load(), 1);
  EXPECT_GE(policy->asked.load(), 2);  // the leader's arrival and at least one tick
  // The reporter saw the arrival and the upstream call.
  EXPECT_GT(signals->arrival_rate(std::chrono::steady_clock::now()), 0.0);
  EXPECT_TRUE(signals->upstream_p99(std::chrono::steady_clock::now()).has_value());
}

TEST(CollapseService, WindowSlotThatFillsUpGoesAtOnce) {
  Fixture f;
  f.table = std::make_shared<SlotTable>(100, 2, Strategy::window);
  auto service = window_service(f, std::chrono::hours(1));
  for (int i = 0; i < 4; ++i) asio::co_spawn(f.io, service.call(get("/w")), asio::detached);
  f.io.poll();
  // Leader + 2 followers fill the first slot, which goes at once; the fourth opens a second,
  // which stays parked.
  EXPECT_EQ(f.inner.calls->load(), 1);
  EXPECT_EQ(f.table->slots(), 2u);
  f.table->flush_all();  // shutdown: the parked slot goes too
  f.io.poll();
  EXPECT_EQ(f.inner.calls->load(), 2);
  f.gate->release();
  f.io.run();
  EXPECT_EQ(f.table->slots(), 0u);
}

TEST(CollapseService, WindowRequestAfterDispatchOpensANewSlot) {
  Fixture f;
  f.table = std::make_shared<SlotTable>(100, 100, Strategy::window);
  auto service = window_service(f, std::chrono::milliseconds(0), /*immediately=*/true);
  asio::co_spawn(f.io, service.call(get("/w")), asio::detached);
  f.io.poll();
  EXPECT_EQ(f.inner.calls->load(), 1);  // immediate: no wait
  asio::co_spawn(f.io, service.call(get("/w")), asio::detached);
  f.io.poll();
  // The first slot is upstream already: the second request makes its own fresh call.
  EXPECT_EQ(f.inner.calls->load(), 2);
  f.gate->release();
  f.io.run();
  EXPECT_EQ(f.counters->followers.load(), 0u);
}

TEST(CollapseService, AfterLeaderAgeOneMoreCallGoesAndTheFirstAnswerServesTheSlot) {
  Fixture f;
  f.table = std::make_shared<SlotTable>(100, 100, Strategy::inflight, std::chrono::milliseconds(5));
  auto service = f.service();
  std::vector<std::string> bodies;
  auto collect = [&bodies](std::exception_ptr, core::Response r) {
    bodies.emplace_back(r.body_view());
  };
  asio::co_spawn(f.io, service.call(get("/slow")), collect);  // the slow leader, held
  asio::co_spawn(f.io, service.call(get("/slow")), collect);  // a follower, at once
  f.io.poll();
  std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the slot is older than 5 ms
  // The next identical request makes a second call (through an inner service whose gate is
  // open, so it answers at once).
  HeldService second_inner{std::make_shared<Gate>(f.io)};
  second_inner.gate->open = true;
  CollapseService<HeldService> second(second_inner, f.table,
                                      std::make_shared<const CollapseRules>(), f.counters);
  asio::co_spawn(f.io, second.call(get("/slow")), collect);
  f.io.poll();
  EXPECT_EQ(second_inner.calls->load(), 1);
  // The second call answered first and served every member, the slow leader's included: a
  // call belongs to its slot, and the first answer is the slot's.
  EXPECT_EQ(bodies.size(), 3u);
  EXPECT_EQ(f.table->slots(), 0u);
  f.gate->release();
  f.io.run();
  EXPECT_EQ(bodies.size(), 3u);         // the slow call's late answer is nobody's
  EXPECT_EQ(f.inner.calls->load(), 1);  // the slow leader's own call
  EXPECT_EQ(f.counters->followers.load(), 1u);
}

// Identical requests on two worker threads share one call. Run under TSan by check-tsan.
TEST(CollapseService, TwoWorkersShareOneCall) {
  auto table = std::make_shared<SlotTable>(100, 100);
  auto counters = std::make_shared<CollapseCounters>();
  auto rules = std::make_shared<const CollapseRules>();
  asio::io_context first;
  asio::io_context second;
  auto first_gate = std::make_shared<Gate>(first);
  HeldService first_inner{first_gate};
  HeldService second_inner{std::make_shared<Gate>(second)};
  CollapseService<HeldService> first_service(first_inner, table, rules, counters);
  CollapseService<HeldService> second_service(second_inner, table, rules, counters);

  std::string first_body;
  std::string second_body;
  asio::co_spawn(first, first_service.call(get("/shared", "u")),
                 [&first_body](std::exception_ptr, core::Response r) {
                   first_body = std::string(r.body_view());
                 });
  first.poll();
  asio::co_spawn(second, second_service.call(get("/shared", "u")),
                 [&second_body](std::exception_ptr, core::Response r) {
                   second_body = std::string(r.body_view());
                 });
  second.poll();
  EXPECT_EQ(table->waiters(), 1u);
  auto second_guard = asio::make_work_guard(second);
  std::thread second_thread([&second] { second.run(); });
  asio::post(first, [first_gate] { first_gate->release(); });
  first.run();
  second_guard.reset();
  second_thread.join();
  EXPECT_EQ(first_inner.calls->load() + second_inner.calls->load(), 1);
  EXPECT_EQ(first_body, "/shared for u\n");
  EXPECT_EQ(second_body, "/shared for u\n");
  EXPECT_EQ(table->slots(), 0u);
}

// Spins until the steady clock has passed `at`: a worker kept busy, not a wait for an event.
void busy_until(std::chrono::steady_clock::time_point at) {
  while (std::chrono::steady_clock::now() < at) {
  }
}

TEST(CollapseService, AMembersWaitAndCallEndWhenTheyHappenNotWhenItsWorkerGetsToThem) {
  using std::chrono::steady_clock;
  constexpr auto busy = std::chrono::milliseconds(2);
  asio::io_context leaders;  // the leader's worker: the slot's call runs there
  asio::io_context followers;
  Fixture f;
  auto gate = std::make_shared<Gate>(leaders);
  HeldService inner{gate};
  auto table = std::make_shared<SlotTable>(100, 1, Strategy::window);  // full with 1 follower
  auto rules = std::make_shared<CollapseRules>();
  rules->strategy = Strategy::window;
  rules->max_wait = std::chrono::hours(1);
  CollapseService<HeldService> leader_service(inner, table, rules, f.counters);
  CollapseService<HeldService> follower_service(inner, table, rules, f.counters);
  core::Phases leader;
  core::Phases follower;
  const auto call_with = [](core::Phases& phases) {
    core::Request request = get("/w");
    request.phases = &phases;
    return request;
  };
  int answered = 0;
  const auto count = [&answered](std::exception_ptr, core::Response r) {
    if (r.status == 200) ++answered;
  };

  const auto leader_came = steady_clock::now();
  asio::co_spawn(leaders, leader_service.call(call_with(leader)), count);
  leaders.poll();
  asio::co_spawn(followers, follower_service.call(call_with(follower)), count);
  followers.poll();  // the slot fills: it is due now, and its leader is woken
  const auto filled = steady_clock::now();
  busy_until(filled + busy);  // the leader's worker is busy before it gets to the slot
  leaders.restart();
  leaders.poll();
  ASSERT_EQ(inner.calls->load(), 1);
  gate->release();
  leaders.restart();
  leaders.poll();  // the answer is in; the follower's wake-up is posted to its worker
  const auto answer_in = steady_clock::now();
  busy_until(answer_in + busy);  // the follower's worker is busy before it resumes it
  followers.restart();
  followers.run();
  leaders.restart();
  leaders.run();
  ASSERT_EQ(answered, 2);

  EXPECT_GT(leader.parked, steady_clock::duration::zero());
  EXPECT_LE(leader.parked, filled - leader_came) << "the wait ends when the slot filled";
  EXPECT_LE(follower.parked, filled - leader_came);
  // The call started after the leader's busy spell and its answer was in by `answer_in`.
  EXPECT_LE(follower.upstream, answer_in - (filled + busy));
  EXPECT_LE(leader.upstream, answer_in - (filled + busy));
}

}  // namespace
}  // namespace levee::layers::collapse
