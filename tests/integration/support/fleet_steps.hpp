#pragma once
// A FleetClient ready for a test against a real redis-server: subscribed to the completion
// channel, and its command connection answering (checked with a renew of a lease nobody holds).

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "layers/collapse/fleet/fleet_client.hpp"
#include "support/io_steps.hpp"

namespace levee::testing {

inline std::shared_ptr<layers::collapse::fleet::FleetClient> connected_fleet_client(
    boost::asio::io_context& io, const redis::RedisSettings& settings,
    std::chrono::milliseconds release_delay =
        layers::collapse::fleet::FleetClient::k_release_delay) {
  using namespace std::chrono_literals;
  auto client = std::make_shared<layers::collapse::fleet::FleetClient>(io.get_executor(), settings,
                                                                       release_delay);
  EXPECT_TRUE(run_until(io, [&] { return client->listening(); }, 5s)) << "never subscribed";
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (await(io, client->renew("warm-up", 1, 1s)).ok()) return client;
    (void)run_until(io, [] { return false; }, 10ms);
  }
  ADD_FAILURE() << "the command connection never answered";
  return client;
}

}  // namespace levee::testing
