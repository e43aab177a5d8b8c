#pragma once
// A route's flush policy in /stats: its name and, for `learned`, how many decisions the model
// made and how many its adaptive fallback made instead, by why (the admin status page shows
// both; the Prometheus families are levee_policy_model_decisions_total and
// levee_policy_fallbacks_total).

#include <string>

#include "proxy/flush_policy_setup.hpp"

namespace levee::proxy {

// Appends `,"policy":{...}` to a route's /stats object.
void append_policy_stats(std::string& out, const RoutePolicy& route_policy);

}  // namespace levee::proxy
