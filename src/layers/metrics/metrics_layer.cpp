#include "layers/metrics/metrics_layer.hpp"

#include <fmt/format.h>

#include <cmath>
#include <iterator>
#include <utility>

#include "admin/metrics.hpp"
#include "layers/limit/shed.hpp"
#include "layers/metrics/metrics_service.hpp"
#include "layers/metrics/phase_metrics.hpp"
#include "layers/metrics/route_metrics.hpp"
#include "proxy/proxy_metrics.hpp"
#include "upstream/upstream_error.hpp"

namespace levee::layers {

namespace {

class MetricsLayer final : public runtime::RouteLayer {
 public:
  MetricsLayer(const RouteMetrics& metrics, const PhaseMetrics& phases)
      : metrics_(metrics), phases_(phases) {}

  [[nodiscard]] core::Next wrap(core::Next inner, const runtime::WorkerLinks&) const override {
    return core::Next(core::make_stage(
        MetricsService<core::Next>(std::move(inner), metrics_, core::Clock::now, &phases_)));
  }

  void append_stats(std::string& out) const override {
    auto it = std::back_inserter(out);
    const RouteMetrics& m = metrics_;
    out += ",\"requests\":{";
    std::uint64_t total = 0;
    for (std::size_t c = 0; c < m.requests_by_class.size(); ++c) {
      auto n = m.requests_by_class[c]->value();
      total += n;
      fmt::format_to(it, "\"{}xx\":{},", c + 1, n);
    }
    fmt::format_to(it, "\"total\":{}}},\"upstream_calls\":{},\"upstream_errors\":{{", total,
                   m.upstream_responses->value());
    for (std::size_t k = 0; k < m.upstream_errors.size(); ++k) {
      if (k > 0) out += ',';
      fmt::format_to(it, "\"{}\":{}",
                     upstream::to_string(static_cast<upstream::UpstreamErrorKind>(k)),
                     m.upstream_errors[k]->value());
    }
    auto latency = m.request_duration->snapshot();
    out += "},\"latency_ms\":{";
    const char* separator = "";
    for (auto [label, q] : {std::pair{"p50", 0.5}, std::pair{"p90", 0.9}, std::pair{"p99", 0.99}}) {
      const double ms = latency.quantile(q) * 1000;
      // An empty histogram has no quantiles; JSON has no NaN.
      if (std::isnan(ms)) {
        fmt::format_to(it, "{}\"{}\":null", separator, label);
      } else {
        fmt::format_to(it, "{}\"{}\":{:.3f}", separator, label, ms);
      }
      separator = ",";
    }
    out += '}';
    using limit::ShedReason;
    const auto shed = [&](ShedReason reason) {
      return m.shed[static_cast<std::size_t>(reason)]->value();
    };
    fmt::format_to(it,
                   ",\"shed\":{{\"max_pending\":{},\"upstream_inflight\":{},\"breaker_open\":{}}}",
                   shed(ShedReason::max_pending), shed(ShedReason::upstream_inflight),
                   shed(ShedReason::breaker_open));
    phases_.append_stats(out);
  }

 private:
  const RouteMetrics& metrics_;  // registry children: never freed
  const PhaseMetrics& phases_;   // likewise
};

}  // namespace

std::unique_ptr<runtime::RouteLayer> make_metrics_layer(const runtime::LayerInputs& inputs) {
  return std::make_unique<MetricsLayer>(
      inputs.metrics, inputs.services.metrics.add_route_phases(
                          inputs.route.name, config::to_string(inputs.route.mode)));
}

}  // namespace levee::layers
