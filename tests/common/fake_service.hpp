#pragma once
// A scriptable inner service for layer unit tests (tower_test::mock, Envoy's test/mocks):
// it records every request it gets, answers each call with the next scripted response (or a
// responder, or the default answer), and, while holding, parks each call until the test
// releases it, so that a test can build concurrency above it (an admission line, an
// upstream limit, a collapse slot) and drive it with io_context::poll().
//
// Copies share one state (layers take their inner service by value), so the test keeps a
// copy and reads what the layer's copy saw. A held call waits on a timer of its own
// coroutine's executor; a call whose coroutine is destroyed while held leaves the line and
// counts as abandoned. Not thread-safe: calls and test reads on one thread.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/request.hpp"
#include "core/response.hpp"

namespace levee::test {

class FakeService {
 public:
  using Responder = std::function<core::Response(const core::Request&)>;

  FakeService() : state_(std::make_shared<State>()) {}

  [[nodiscard]] boost::asio::awaitable<core::Response> call(core::Request request) {
    std::shared_ptr<State> state = state_;  // the frame keeps it, whatever happens to *this
    state->requests.push_back(request);
    ++state->active;
    Active active{state.get()};
    if (state->holding) {
      auto gate = std::make_shared<Gate>(co_await boost::asio::this_coro::executor);
      state->line.push_back(gate);
      Waiting waiting{state.get(), gate};
      while (!gate->released) {
        boost::system::error_code ignored;
        co_await gate->timer.async_wait(
            boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
      }
      waiting.done = true;
    }
    core::Response response = state->next_answer(request);
    active.done = true;
    co_return response;
  }

  // --- script ------------------------------------------------------------------------------
  // Every call without a scripted answer gets this (200 "ok" until set).
  void answer(core::Response response) { state_->fallback = std::move(response); }
  // The next calls get these, in order, before the default answer.
  void then(core::Response response) { state_->script.push_back(std::move(response)); }
  // Builds each unscripted answer from its request instead of the default answer.
  void respond_with(Responder responder) { state_->responder = std::move(responder); }

  // --- holding -----------------------------------------------------------------------------
  // From now on each call waits until released.
  void hold() { state_->holding = true; }
  // Lets the first `n` held calls go, oldest first; returns how many went. Their answers
  // come when their io_context next runs.
  std::size_t release(std::size_t n = 1) {
    std::size_t released = 0;
    while (released < n && !state_->line.empty()) {
      state_->line.front()->open();
      state_->line.pop_front();
      ++released;
    }
    return released;
  }
  // Stops holding and lets every held call go.
  void release_all() {
    state_->holding = false;
    release(state_->line.size());
  }

  // --- records -----------------------------------------------------------------------------
  [[nodiscard]] std::size_t calls() const noexcept { return state_->requests.size(); }
  [[nodiscard]] const std::vector<core::Request>& requests() const noexcept {
    return state_->requests;
  }
  [[nodiscard]] const core::Request& last() const { return state_->requests.back(); }
  // Calls held now.
  [[nodiscard]] std::size_t held() const noexcept { return state_->line.size(); }
  // Calls entered and neither answered nor abandoned.
  [[nodiscard]] std::size_t active() const noexcept { return state_->active; }
  [[nodiscard]] std::size_t answered() const noexcept { return state_->answered; }
  // Calls whose coroutine was destroyed before they answered.
  [[nodiscard]] std::size_t abandoned() const noexcept { return state_->abandoned; }

 private:
  struct Gate {
    explicit Gate(const boost::asio::any_io_executor& executor)
        : timer(executor, boost::asio::steady_timer::time_point::max()) {}
    void open() {
      released = true;
      timer.cancel();
    }
    boost::asio::steady_timer timer;
    bool released = false;
  };

  struct State {
    core::Response next_answer(const core::Request& request) {
      if (!script.empty()) {
        core::Response response = std::move(script.front());
        script.pop_front();
        return response;
      }
      return responder ? responder(request) : fallback;
    }

    std::vector<core::Request> requests;
    std::deque<core::Response> script;
    core::Response fallback = core::Response::text(200, "ok");
    Responder responder;
    bool holding = false;
    std::deque<std::shared_ptr<Gate>> line;
    std::size_t active = 0;
    std::size_t answered = 0;
    std::size_t abandoned = 0;
  };

  // Counts the call out when its frame ends, answered or destroyed.
  struct Active {
    State* state;
    bool done = false;
    ~Active() {
      --state->active;
      ++(done ? state->answered : state->abandoned);
    }
  };
  // Takes a held call out of the line if its frame is destroyed while it waits.
  struct Waiting {
    State* state;
    std::shared_ptr<Gate> gate;
    bool done = false;
    ~Waiting() {
      if (done) return;
      std::erase(state->line, gate);
    }
  };

  std::shared_ptr<State> state_;
};

// A request as the server hands it to a route: method, target and Host.
[[nodiscard]] inline core::Request make_request(std::string method, std::string target,
                                                std::string host = "h") {
  core::Request request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.headers.add("Host", std::move(host));
  return request;
}

// One call spawned on an io_context; its answer (or exception) lands here when it comes.
// `cancel()` emits a terminal cancellation into the call, as a departed client's would.
struct Spawned {
  std::optional<core::Response> response;
  std::exception_ptr error;
  boost::asio::cancellation_signal signal;
  [[nodiscard]] bool done() const noexcept { return response.has_value() || error != nullptr; }
  [[nodiscard]] int status() const { return response ? response->status : 0; }
  void cancel() { signal.emit(boost::asio::cancellation_type::terminal); }
};

// `service` must outlive the call (its frame refers to it).
template <class Service>
[[nodiscard]] std::shared_ptr<Spawned> spawn_call(boost::asio::io_context& io, Service& service,
                                                  core::Request request) {
  auto spawned = std::make_shared<Spawned>();
  boost::asio::co_spawn(
      io, service.call(std::move(request)),
      boost::asio::bind_cancellation_slot(
          spawned->signal.slot(), [spawned](std::exception_ptr error, core::Response response) {
            if (error) {
              spawned->error = std::move(error);
            } else {
              spawned->response = std::move(response);
            }
          }));
  return spawned;
}

// Runs the handlers that are ready, even after `io` ran out of work once (poll() alone would
// then do nothing).
inline std::size_t poll(boost::asio::io_context& io) {
  io.restart();
  return io.poll();
}

// Runs `io` until `spawned` is answered; real time passes only while a timer of the code
// under test is pending (an admission_timeout, an upstream timeout).
inline void run_until_done(boost::asio::io_context& io, const Spawned& spawned) {
  io.restart();
  while (!spawned.done() && io.run_one() > 0) {
  }
}

}  // namespace levee::test
