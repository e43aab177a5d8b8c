// A batch whose members sit on different workers (issue 19): each member is answered on its
// own worker's thread, while the batch call runs on the worker whose item opened the batch.
// Two io_contexts, each run by a thread of its own, as the proxy's workers are; the test
// waits on each member's answer (a future), never on time.

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/fake_service.hpp"
#include "layers/batch/batch_service.hpp"
#include "levee/flush_policy.hpp"

namespace levee::layers::batch {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct Answered {
  int status = 0;
  std::string body;
  std::thread::id resumed_on;
};

class Worker {
 public:
  Worker() : guard_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {
    id_ = thread_.get_id();
  }
  ~Worker() { stop(); }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Every member has its answer by then; what is left (a cancelled timer's handler) may go.
  void stop() {
    guard_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] asio::io_context& io() noexcept { return io_; }
  // Still its id once the thread has ended.
  [[nodiscard]] std::thread::id id() const noexcept { return id_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
  std::thread::id id_;
};

TEST(BatchWorkers, EachMemberIsAnsweredOnItsOwnWorker) {
  BatchLimits limits;
  limits.max_batch_size = 4;
  limits.max_wait = 1h;  // the batch goes when full
  auto counters = std::make_shared<BatchCounters>();
  auto batcher = RouteBatcher::create(limits, std::make_shared<EnvelopePolicy>("size"), counters);
  auto rules = std::make_shared<const BatchRules>();
  test::FakeService upstream;  // called only on the opener's worker
  std::thread::id called_on;
  upstream.respond_with([&called_on](const core::Request& request) {
    called_on = std::this_thread::get_id();
    return core::Response::with_body(200, "application/json", request.body);
  });

  std::array<Worker, 2> workers;
  // One service per worker, as each worker builds its own chain over the route's batcher.
  std::array<std::optional<BatchService<test::FakeService>>, 2> services;
  for (auto& service : services) service.emplace(upstream, batcher, rules, counters);

  // Two members on each worker, pinned there: 0 and 2 on worker 0, 1 and 3 on worker 1.
  std::array<std::promise<Answered>, 4> promises;
  std::array<std::future<Answered>, 4> answers;
  for (std::size_t i = 0; i < 4; ++i) {
    answers[i] = promises[i].get_future();
    const std::size_t w = i % 2;
    asio::co_spawn(
        workers[w].io(),
        [&service = *services[w], &promise = promises[i], i]() -> asio::awaitable<void> {
          core::Request request = test::make_request("POST", "/items");
          request.body = "{\"n\":" + std::to_string(i) + "}";
          core::Response response = co_await service.call(std::move(request));
          promise.set_value(Answered{response.status, std::string(response.body_view()),
                                     std::this_thread::get_id()});
        },
        asio::detached);
  }
  std::array<Answered, 4> got;
  for (std::size_t i = 0; i < 4; ++i) got[i] = answers[i].get();
  for (auto& worker : workers) worker.stop();
  batcher->close();

  EXPECT_EQ(upstream.calls(), 1u) << "the four members went in one batch";
  EXPECT_TRUE(called_on == workers[0].id() || called_on == workers[1].id());
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(got[i].status, 200) << i;
    EXPECT_EQ(got[i].body, "{\"n\":" + std::to_string(i) + "}") << "its own element";
    EXPECT_EQ(got[i].resumed_on, workers[i % 2].id()) << "member " << i << " on its own worker";
  }
}

}  // namespace
}  // namespace levee::layers::batch
