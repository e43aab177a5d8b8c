#pragma once
// How a collapse slot gets its answer when the route collapses across the fleet (docs/fleet.md):
// instead of calling upstream at once, the slot's call asks Redis for the key's lease.
//   - won: this instance calls upstream; FleetClient::hold / finish renew the lease while the
//     call runs and end it afterwards (fleet_holder.cpp);
//   - held by another instance: it waits for the holder's completion on the channel, polling
//     every fleet_wait (a lost message costs at most that), takes the lease over when the holder
//     is gone (the lease expired or was given up), and gets the answer from Redis;
//   - a stale answer while another refreshes (fleet_stale): served at once (memcache's hot miss);
//   - Redis failing, a wait past wait_limit (or past a lease left to expire without a taker),
//     an answer the holder keeps to itself:
//     the slot calls upstream on its own ("local"), counted, and never fails because of Redis.
// The slot's own members still share its one call, whichever way it went.
//
// Threading: the slot call's coroutine, on the worker whose FleetClient it is given.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "core/response.hpp"
#include "layers/collapse/fleet/fleet_client.hpp"
#include "layers/collapse/fleet/fleet_rules.hpp"

namespace levee::layers::collapse::fleet {

struct Obtained {
  enum class Kind : std::uint8_t {
    lead,       // this instance holds the lease: hold() it, call upstream, finish() it
    answer,     // another instance's answer (or a stale one)
    local,      // call upstream without the fleet
    cancelled,  // the slot's call was cancelled while it waited
  };
  Kind kind = Kind::local;
  std::uint64_t token = 0;  // lead
  core::Response answer;    // answer
  bool waited = false;      // lead: another instance already asks for the key
};

[[nodiscard]] boost::asio::awaitable<Obtained> obtain(std::shared_ptr<FleetClient> client,
                                                      std::shared_ptr<const FleetRules> rules,
                                                      std::shared_ptr<FleetCounters> counters,
                                                      std::string key);

}  // namespace levee::layers::collapse::fleet
