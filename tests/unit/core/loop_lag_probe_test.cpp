// The event loop lag probe (core/loop_lag_probe.hpp): a worker kept busy past the probe's
// timer shows at least that much lag; an idle one shows none to speak of.

#include "core/loop_lag_probe.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <vector>

namespace levee::core {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(LoopLagProbe, AWorkerBusyPastTheTimerShowsAtLeastThatMuchLag) {
  asio::io_context io;
  std::vector<Clock::duration> lags;
  start_loop_lag_probe(
      io.get_executor(), [&lags](Clock::duration lag) { lags.push_back(lag); }, 1ms);
  io.run_one();  // the probe armed its first timer, due in 1 ms
  const auto armed = Clock::now();
  asio::post(io, [armed] {
    // Busy, not asleep: the worker cannot get to the timer until this handler ends.
    while (Clock::now() < armed + 20ms) {
    }
  });
  while (lags.empty()) io.run_one();
  EXPECT_GE(lags.front(), 19ms) << "the timer was due at most 1 ms after `armed`";
  io.stop();
}

TEST(LoopLagProbe, KeepsSamplingOncePerInterval) {
  asio::io_context io;
  std::vector<Clock::duration> lags;
  start_loop_lag_probe(
      io.get_executor(), [&lags](Clock::duration lag) { lags.push_back(lag); }, 1ms);
  while (lags.size() < 5) io.run_one();
  io.stop();
  EXPECT_TRUE(std::all_of(lags.begin(), lags.end(),
                          [](Clock::duration lag) { return lag >= Clock::duration::zero(); }));
}

}  // namespace
}  // namespace levee::core
