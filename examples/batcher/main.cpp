// levee::Batcher in-process: a slow "legacy" lookup that answers a batch of ids almost as fast
// as one id, fed by many small concurrent requests from two threads. Every request gets its
// own answer; the program checks that and prints how many calls the lookup saw.
//
//   levee-batcher-example [ITEMS] [THREADS]
//
// Exit status: 0 when every item got its own correct answer, 1 otherwise, 2 on bad arguments.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <cstdio>
#include <levee/batcher.hpp>
#include <levee/flush_policy.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using Lookup = levee::Batcher<int, std::string>;

std::string expected_answer(int id) { return "user-" + std::to_string(id); }

// The legacy service: 20 ms per call whatever the batch size. It runs on the thread whose
// item opened the batch.
asio::awaitable<levee::BatchReply<std::string>> legacy_lookup(std::vector<int> ids,
                                                              std::atomic<int>* calls) {
  calls->fetch_add(1);
  asio::steady_timer latency(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
  co_await latency.async_wait(asio::use_awaitable);
  std::vector<std::string> answers;
  answers.reserve(ids.size());
  for (int id : ids) answers.push_back(expected_answer(id));
  co_return answers;
}

bool parse(const char* text, int& value) {
  const std::string_view view(text);
  const auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), value);
  return ec == std::errc{} && end == view.data() + view.size() && value > 0 && value <= 1'000'000;
}

}  // namespace

int main(int argc, char** argv) {
  int items = 1000;
  int threads = 2;
  if (argc > 3 || (argc > 1 && !parse(argv[1], items)) || (argc > 2 && !parse(argv[2], threads))) {
    std::fprintf(stderr, "usage: levee-batcher-example [ITEMS] [THREADS] (each 1..1000000)\n");
    return 2;
  }

  levee::BatchLimits limits;
  limits.max_batch_size = 100;
  limits.max_wait = std::chrono::milliseconds(5);
  // Every item is submitted at once here, so there is room for all of them: a server would
  // rather bound these and shed (or wait up to admission_timeout) beyond.
  limits.max_queued_batches = static_cast<std::size_t>(items) / limits.max_batch_size + 1;
  limits.max_pending_items = static_cast<std::size_t>(items);
  auto lookup = Lookup::create(limits, std::make_shared<levee::EnvelopePolicy>("timer"));

  std::atomic<int> calls{0};
  std::atomic<int> correct{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      asio::io_context io;
      // The handle's call runs on this thread's io_context.
      auto handle = lookup->handle(io.get_executor(), [&calls](std::vector<int> ids) {
        return legacy_lookup(std::move(ids), &calls);
      });
      for (int id = t; id < items; id += threads) {
        asio::co_spawn(io, handle.submit(id, sizeof(int)),
                       [&, id](std::exception_ptr error, levee::ItemOutcome<std::string> outcome) {
                         const auto* answer = std::get_if<std::string>(&outcome);
                         if (!error && answer != nullptr && *answer == expected_answer(id)) {
                           ++correct;
                         } else {
                           ++wrong;
                         }
                       });
      }
      // A batch opened here may carry the other threads' items: run until all are answered.
      while (correct.load() + wrong.load() < items) io.run_for(std::chrono::milliseconds(10));
    });
  }
  for (auto& worker : workers) worker.join();
  lookup->close();

  std::printf("items=%d threads=%d calls=%d correct=%d wrong=%d\n", items, threads, calls.load(),
              correct.load(), wrong.load());
  return wrong.load() == 0 ? 0 : 1;
}
