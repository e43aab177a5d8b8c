#include "layers/metrics/phase_metrics.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <iterator>

#include "admin/metrics.hpp"

namespace levee::layers {

namespace {

constexpr std::size_t k_fine_steps = 100;  // 0.1 ms .. 10 ms
constexpr std::array<double, 9> k_coarse = {0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

constexpr auto make_buckets() {
  std::array<double, k_fine_steps + k_coarse.size()> bounds{};
  for (std::size_t i = 0; i < k_fine_steps; ++i) {
    bounds[i] = static_cast<double>(i + 1) * 1e-4;
  }
  for (std::size_t i = 0; i < k_coarse.size(); ++i) bounds[k_fine_steps + i] = k_coarse[i];
  return bounds;
}

constexpr auto k_buckets = make_buckets();

constexpr std::int64_t k_fine_step_ns = 100'000;

}  // namespace

// By arithmetic below 10 ms: observe() would search 109 bounds six times per request.
std::size_t phase_bucket(core::Clock::duration d) noexcept {
  const std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  if (ns <= 0) return 0;
  const auto fine = static_cast<std::size_t>((ns + k_fine_step_ns - 1) / k_fine_step_ns);
  if (fine <= k_fine_steps) return fine - 1;
  const double seconds = std::chrono::duration<double>(d).count();
  std::size_t i = 0;
  while (i < k_coarse.size() && k_coarse[i] < seconds) ++i;
  return k_fine_steps + i;
}

void observe_phase(admin::Histogram* histogram, core::Clock::duration d) noexcept {
  if (histogram == nullptr) return;  // a phase the route's mode never has
  histogram->observe_in(phase_bucket(d), std::chrono::duration<double>(d).count());
}

namespace {

void append_quantiles(std::string& out, std::string_view name, const admin::Histogram& h) {
  auto it = std::back_inserter(out);
  const auto snapshot = h.snapshot();
  fmt::format_to(it, "\"{}\":{{", name);
  const char* separator = "";
  for (auto [label, q] : {std::pair{"p50", 0.5}, std::pair{"p99", 0.99}}) {
    const double ms = snapshot.quantile(q) * 1000;
    if (std::isnan(ms)) {  // JSON has no NaN
      fmt::format_to(it, "{}\"{}\":null", separator, label);
    } else {
      fmt::format_to(it, "{}\"{}\":{:.3f}", separator, label, ms);
    }
    separator = ",";
  }
  fmt::format_to(it, ",\"sum\":{:.3f}}}", snapshot.sum * 1000);
}

}  // namespace

std::span<const double> phase_buckets() noexcept { return k_buckets; }

void PhaseMetrics::record(const core::PhaseBreakdown& breakdown) const noexcept {
  observe_phase(phases[0], breakdown.admission);
  observe_phase(phases[1], breakdown.parked);
  observe_phase(phases[2], breakdown.upstream);
  observe_phase(phases[3], breakdown.proxy);
  observe_phase(phases[4], breakdown.total);
  observe_phase(added, breakdown.added());
}

void PhaseMetrics::append_stats(std::string& out) const {
  out += ",\"phases_ms\":{";
  for (std::size_t i = 0; i < phases.size(); ++i) {
    if (phases[i] == nullptr) continue;
    append_quantiles(out, k_phase_names[i], *phases[i]);
    out += ',';
  }
  append_quantiles(out, "added", *added);
  out += '}';
}

}  // namespace levee::layers
