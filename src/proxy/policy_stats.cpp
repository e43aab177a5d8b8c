#include "proxy/policy_stats.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <iterator>

#include "policy/learned_policy.hpp"

namespace levee::proxy {

void append_policy_stats(std::string& out, const RoutePolicy& route_policy) {
  auto it = std::back_inserter(out);
  // Policy names are levee's own ("timer", "adaptive", "learned"): no escaping needed.
  fmt::format_to(it, ",\"policy\":{{\"name\":\"{}\"",
                 route_policy.policy ? route_policy.policy->name() : std::string_view("none"));
  const auto* learned = dynamic_cast<const policy::LearnedPolicy*>(route_policy.policy.get());
  if (learned != nullptr) {
    const policy::DecisionCounters& counters = learned->counters();
    fmt::format_to(it, ",\"model_decisions\":{},\"fallbacks\":{{", counters.model_decisions());
    for (std::size_t i = 0; i < policy::k_fallbacks; ++i) {
      const auto reason = static_cast<policy::Fallback>(i);
      fmt::format_to(it, "{}\"{}\":{}", i == 0 ? "" : ",", policy::to_string(reason),
                     counters.fallbacks(reason));
    }
    out += '}';
  }
  out += '}';
}

}  // namespace levee::proxy
