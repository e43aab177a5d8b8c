#include "admin/metrics.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "admin/exposition.hpp"
#include "admin/metric_registry.hpp"

namespace levee::admin {
namespace {

// Tests run on gtest's main thread; put its shard back so later tests see the default.
struct ShardReset {
  ~ShardReset() { set_metrics_shard(0); }
};

TEST(MetricsTest, ShardIndexWrapsAtShardCount) {
  const ShardReset reset;
  EXPECT_EQ(current_metrics_shard(), 0u);
  set_metrics_shard(k_metric_shards + 3);
  EXPECT_EQ(current_metrics_shard(), 3u);
  std::thread([] { EXPECT_EQ(current_metrics_shard(), 0u); }).join();
}

TEST(MetricsTest, ConcurrentUpdatesSumExactly) {
  Counter counter;
  Gauge gauge;
  Histogram histogram(std::array{1.0, 2.0});
  constexpr int k_threads = 8;
  constexpr int k_iterations = 200'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      // Thread 0 never picks a shard (uses shard 0); threads 1 and 1 + k_metric_shards
      // would share one, so include both kinds of sharing.
      if (t != 0) set_metrics_shard(t == k_threads - 1 ? 1 + k_metric_shards : t);
      for (int i = 0; i < k_iterations; ++i) {
        counter.inc();
        gauge.add(3);
        gauge.sub(1);
        histogram.observe(static_cast<double>(i % 3));  // 0, 1, 2: exact in binary
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  constexpr std::uint64_t total = std::uint64_t{k_threads} * k_iterations;
  EXPECT_EQ(counter.value(), total);
  EXPECT_EQ(gauge.value(), static_cast<std::int64_t>(2 * total));
  const HistogramSnapshot snap = histogram.snapshot();
  EXPECT_EQ(snap.count, total);
  std::uint64_t zeros = 0;
  std::uint64_t ones = 0;
  std::uint64_t twos = 0;
  for (int i = 0; i < k_iterations; ++i) (i % 3 == 0 ? zeros : i % 3 == 1 ? ones : twos) += 1;
  // Bounds {1, 2}: 0 and 1 fall in le=1, 2 in le=2, nothing above.
  EXPECT_EQ(snap.counts,
            (std::vector<std::uint64_t>{k_threads * (zeros + ones), k_threads * twos, 0}));
  EXPECT_EQ(snap.sum, static_cast<double>(k_threads * (ones + 2 * twos)));
}

TEST(MetricsTest, CounterIncBy) {
  Counter counter;
  counter.inc();
  counter.inc(41);
  EXPECT_EQ(counter.value(), 42u);
}

TEST(MetricsTest, GaugeSetIsBaseUnderShardedAdds) {
  const ShardReset reset;
  Gauge gauge;
  gauge.add(5);
  std::thread([&] {
    set_metrics_shard(7);
    gauge.sub(2);
  }).join();
  EXPECT_EQ(gauge.value(), 3);
  gauge.set(10);
  EXPECT_EQ(gauge.value(), 10);
  gauge.inc();
  std::thread([&] {
    set_metrics_shard(9);
    gauge.sub(4);
  }).join();
  EXPECT_EQ(gauge.value(), 7);
  gauge.set(-3);
  EXPECT_EQ(gauge.value(), -3);
  gauge.dec();
  EXPECT_EQ(gauge.value(), -4);
}

TEST(HistogramTest, BucketsIncludeTheirUpperBound) {
  Histogram histogram(std::array{1.0, 2.0, 5.0});
  for (double v : {0.5, 1.0, 1.5, 5.0, 7.0, -1.0}) histogram.observe(v);
  histogram.observe(std::numeric_limits<double>::quiet_NaN());
  const HistogramSnapshot snap = histogram.snapshot();
  EXPECT_EQ(snap.upper_bounds, (std::vector<double>{1.0, 2.0, 5.0}));
  EXPECT_EQ(snap.counts, (std::vector<std::uint64_t>{3, 1, 1, 1}));
  EXPECT_EQ(snap.count, 6u);
  EXPECT_DOUBLE_EQ(snap.sum, 14.0);
}

TEST(HistogramTest, WithoutBoundsOnlyHasInf) {
  Histogram histogram(std::span<const double>{});
  histogram.observe(3);
  EXPECT_EQ(histogram.snapshot().counts, (std::vector<std::uint64_t>{1}));
  EXPECT_TRUE(std::isnan(histogram.quantile(0.5)));
}

TEST(HistogramTest, RejectsBadBounds) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(Histogram(std::array{1.0, 1.0}), std::invalid_argument);
  EXPECT_THROW(Histogram(std::array{2.0, 1.0}), std::invalid_argument);
  EXPECT_THROW(Histogram(std::array{1.0, inf}), std::invalid_argument);
  EXPECT_THROW(Histogram(std::array{nan}), std::invalid_argument);
  std::vector<double> many;
  for (std::size_t i = 0; i <= k_max_histogram_bounds; ++i) many.push_back(double(i));
  EXPECT_THROW(Histogram{many}, std::invalid_argument);
  many.pop_back();
  EXPECT_NO_THROW(Histogram{many});
}

TEST(HistogramTest, DefaultLatencyBuckets) {
  const std::span<const double> buckets = default_latency_buckets();
  EXPECT_EQ(std::vector<double>(buckets.begin(), buckets.end()),
            (std::vector<double>{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                 2.5, 5, 10}));
  EXPECT_NO_THROW(Histogram{buckets});
}

TEST(HistogramTest, QuantileInterpolatesInsideTheBucket) {
  Histogram histogram(std::array{1.0, 2.0, 4.0});
  EXPECT_TRUE(std::isnan(histogram.quantile(0.5)));
  for (int i = 0; i < 10; ++i) histogram.observe(0.5);
  for (int i = 0; i < 10; ++i) histogram.observe(1.5);
  EXPECT_DOUBLE_EQ(histogram.quantile(0.5), 1.0);
  EXPECT_DOUBLE_EQ(histogram.quantile(0.25), 0.5);
  EXPECT_DOUBLE_EQ(histogram.quantile(0.75), 1.5);
  EXPECT_DOUBLE_EQ(histogram.quantile(0.99), 1.98);
  EXPECT_DOUBLE_EQ(histogram.quantile(1.0), 2.0);
  EXPECT_DOUBLE_EQ(histogram.quantile(0.0), 0.0);
  EXPECT_DOUBLE_EQ(histogram.quantile(7.0), 2.0);  // clamped to 1
  // A rank past the last finite bound reports that bound: the +Inf bucket has no width.
  for (int i = 0; i < 80; ++i) histogram.observe(100);
  EXPECT_DOUBLE_EQ(histogram.quantile(0.99), 4.0);
}

TEST(HistogramTest, QuantileOfLatenciesIsInTheRightBucket) {
  Histogram histogram(default_latency_buckets());
  // 1 ms .. 1000 ms, uniform.
  for (int ms = 1; ms <= 1000; ++ms) histogram.observe(ms / 1000.0);
  const double p50 = histogram.quantile(0.5);
  const double p99 = histogram.quantile(0.99);
  EXPECT_GT(p50, 0.25);
  EXPECT_LE(p50, 0.5);
  EXPECT_GT(p99, 0.5);
  EXPECT_LE(p99, 1.0);
  // 250 values lie in (0.25, 0.5] with 250 below them: rank 500 is that bucket's top.
  EXPECT_DOUBLE_EQ(p50, 0.5);
  EXPECT_LT(p50, p99);
}

TEST(MetricExpositionTest, FormatsNumbersLikeTheGoClient) {
  std::string out;
  for (double v : {0.0005, 0.005, 1.0, 2.5, 100000.0, 1e6, 1e-5, 0.0}) {
    append_double(out, v);
    out += ' ';
  }
  append_double(out, std::numeric_limits<double>::infinity());
  out += ' ';
  append_double(out, -std::numeric_limits<double>::infinity());
  out += ' ';
  append_double(out, std::numeric_limits<double>::quiet_NaN());
  out += ' ';
  append_int(out, -42);
  out += ' ';
  append_uint(out, 18446744073709551615u);
  EXPECT_EQ(out, "0.0005 0.005 1 2.5 100000 1e+06 1e-05 0 +Inf -Inf NaN -42 18446744073709551615");
}

TEST(MetricExpositionTest, NameRules) {
  EXPECT_TRUE(is_valid_metric_name("levee_requests_total"));
  EXPECT_TRUE(is_valid_metric_name(":recording:rule"));
  EXPECT_TRUE(is_valid_metric_name("_x9"));
  EXPECT_FALSE(is_valid_metric_name(""));
  EXPECT_FALSE(is_valid_metric_name("9x"));
  EXPECT_FALSE(is_valid_metric_name("a-b"));
  EXPECT_FALSE(is_valid_metric_name("a b"));
  EXPECT_FALSE(is_valid_metric_name("é"));
  EXPECT_TRUE(is_valid_label_name("route"));
  EXPECT_TRUE(is_valid_label_name("_x"));
  EXPECT_FALSE(is_valid_label_name(""));
  EXPECT_FALSE(is_valid_label_name("__name__"));
  EXPECT_FALSE(is_valid_label_name("a:b"));
  EXPECT_FALSE(is_valid_label_name("1a"));
}

TEST(RegistryTest, RendersGoldenText) {
  Registry registry;
  CounterFamily& requests =
      registry.counter_family("levee_requests_total", "Requests handled.", {"route", "code"});
  // Created 503 first: children print in creation order, not sorted.
  requests.with({"api", "503"}).inc();
  requests.with({"api", "200"}).inc(3);
  registry.counter_family("levee_errors_total", "Errors by kind.", {"kind"});
  registry.gauge("levee_in_flight_requests", "Requests in flight.").add(2);
  Histogram& latency = registry
                           .histogram_family("levee_request_duration_seconds", "Request latency.",
                                             {"route"}, std::array{0.005, 0.1, 1.0})
                           .with({"api"});
  for (double v : {0.00390625, 0.005, 0.0625, 0.5, 2.0}) latency.observe(v);
  registry.gauge_callback("levee_uptime_seconds", "Seconds since start.", {}, [] { return 12.5; });

  EXPECT_EQ(registry.render(),
            "# HELP levee_requests_total Requests handled.\n"
            "# TYPE levee_requests_total counter\n"
            "levee_requests_total{route=\"api\",code=\"503\"} 1\n"
            "levee_requests_total{route=\"api\",code=\"200\"} 3\n"
            "# HELP levee_errors_total Errors by kind.\n"
            "# TYPE levee_errors_total counter\n"
            "# HELP levee_in_flight_requests Requests in flight.\n"
            "# TYPE levee_in_flight_requests gauge\n"
            "levee_in_flight_requests 2\n"
            "# HELP levee_request_duration_seconds Request latency.\n"
            "# TYPE levee_request_duration_seconds histogram\n"
            "levee_request_duration_seconds_bucket{route=\"api\",le=\"0.005\"} 2\n"
            "levee_request_duration_seconds_bucket{route=\"api\",le=\"0.1\"} 3\n"
            "levee_request_duration_seconds_bucket{route=\"api\",le=\"1\"} 4\n"
            "levee_request_duration_seconds_bucket{route=\"api\",le=\"+Inf\"} 5\n"
            "levee_request_duration_seconds_sum{route=\"api\"} 2.57140625\n"
            "levee_request_duration_seconds_count{route=\"api\"} 5\n"
            "# HELP levee_uptime_seconds Seconds since start.\n"
            "# TYPE levee_uptime_seconds gauge\n"
            "levee_uptime_seconds 12.5\n");
}

TEST(RegistryTest, UnlabelledHistogramBucketsAreCumulative) {
  Registry registry;
  Histogram& histogram = registry.histogram("levee_size_bytes", "Sizes.", std::array{10.0, 100.0});
  for (double v : {1.0, 10.0, 11.0, 100.0, 1000.0, 1000.0}) histogram.observe(v);
  EXPECT_EQ(registry.render(),
            "# HELP levee_size_bytes Sizes.\n"
            "# TYPE levee_size_bytes histogram\n"
            "levee_size_bytes_bucket{le=\"10\"} 2\n"
            "levee_size_bytes_bucket{le=\"100\"} 4\n"
            "levee_size_bytes_bucket{le=\"+Inf\"} 6\n"
            "levee_size_bytes_sum 2122\n"
            "levee_size_bytes_count 6\n");
}

TEST(RegistryTest, EscapesHelpAndLabelValues) {
  Registry registry;
  registry.counter_family("levee_odd_total", "Back\\slash, \"quotes\"\nand a newline.", {"path"})
      .with({"a\\b \"c\"\nd"})
      .inc();
  EXPECT_EQ(registry.render(),
            "# HELP levee_odd_total Back\\\\slash, \"quotes\"\\nand a newline.\n"
            "# TYPE levee_odd_total counter\n"
            "levee_odd_total{path=\"a\\\\b \\\"c\\\"\\nd\"} 1\n");
}

TEST(RegistryTest, WithReturnsTheSameChildForTheSameValues) {
  Registry registry;
  GaugeFamily& family = registry.gauge_family("levee_pool_connections", "Open.", {"upstream"});
  Gauge& a = family.with({"a"});
  Gauge& b = family.with({"b"});
  const std::vector<std::string_view> values{"a"};
  EXPECT_EQ(&family.with(values), &a);
  EXPECT_NE(&a, &b);
  a.add(4);
  EXPECT_EQ(family.with({"a"}).value(), 4);
}

TEST(RegistryTest, RejectsInvalidRegistrations) {
  Registry registry;
  EXPECT_THROW(registry.counter_family("9_total", "h"), std::invalid_argument);
  EXPECT_THROW(registry.counter_family("bad-name_total", "h"), std::invalid_argument);
  EXPECT_THROW(registry.gauge_family("", "h"), std::invalid_argument);
  EXPECT_THROW(registry.counter_family("levee_requests", "h"), std::invalid_argument);
  EXPECT_THROW(registry.counter_family("_total", "h"), std::invalid_argument);
  EXPECT_THROW(registry.gauge_family("levee_open_total", "h"), std::invalid_argument);
  EXPECT_THROW(registry.histogram_family("levee_x_total", "h"), std::invalid_argument);
  EXPECT_THROW(registry.counter_family("levee_a_total", "h", {"__reserved"}),
               std::invalid_argument);
  EXPECT_THROW(registry.counter_family("levee_a_total", "h", {"bad-label"}), std::invalid_argument);
  EXPECT_THROW(registry.counter_family("levee_a_total", "h", {"route", "route"}),
               std::invalid_argument);
  EXPECT_THROW(registry.histogram_family("levee_d_seconds", "h", {"le"}), std::invalid_argument);
  EXPECT_THROW(registry.gauge_family("levee_g", "h", {"quantile"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram_family("levee_d_seconds", "h", {}, std::array{2.0, 1.0}),
               std::invalid_argument);

  // Failed registrations reserved nothing.
  CounterFamily& family = registry.counter_family("levee_a_total", "h", {"route"});
  EXPECT_THROW(registry.counter_family("levee_a_total", "h", {"route"}), std::invalid_argument);
  EXPECT_THROW(registry.gauge_callback("levee_a_total", "h", {}, [] { return 1.0; }),
               std::invalid_argument);
  EXPECT_THROW(static_cast<void>(family.with({})), std::invalid_argument);
  EXPECT_THROW(static_cast<void>(family.with({"x", "y"})), std::invalid_argument);

  // A histogram owns its _bucket/_sum/_count sample names, either way round.
  registry.histogram_family("levee_d_seconds", "h");
  EXPECT_THROW(registry.gauge_family("levee_d_seconds_count", "h"), std::invalid_argument);
  registry.gauge_family("levee_e_sum", "h");
  EXPECT_THROW(registry.histogram_family("levee_e", "h"), std::invalid_argument);

  EXPECT_THROW(registry.gauge_callback("levee_cb", "h", {}, {}), std::invalid_argument);
  registry.gauge_callback("levee_cb", "h", {{"pool", "a"}}, [] { return 1.0; });
  EXPECT_THROW(registry.gauge_callback("levee_cb", "h", {{"pool", "a"}}, [] { return 2.0; }),
               std::invalid_argument);
  EXPECT_THROW(registry.gauge_callback("levee_cb", "h", {{"other", "b"}}, [] { return 2.0; }),
               std::invalid_argument);
  EXPECT_THROW(
      registry.gauge_callback("levee_cb", "other help", {{"pool", "b"}}, [] { return 2.0; }),
      std::invalid_argument);
}

TEST(RegistryTest, CallbackGaugeChildrenShareOneFamily) {
  Registry registry;
  double idle = 3;
  registry.gauge_callback("levee_pool_idle_connections", "Idle.", {{"pool", "a"}},
                          [&] { return idle; });
  registry.gauge_callback("levee_pool_idle_connections", "Idle.", {{"pool", "b\"q"}},
                          [] { return std::numeric_limits<double>::quiet_NaN(); });
  idle = 0.25;
  EXPECT_EQ(registry.render(),
            "# HELP levee_pool_idle_connections Idle.\n"
            "# TYPE levee_pool_idle_connections gauge\n"
            "levee_pool_idle_connections{pool=\"a\"} 0.25\n"
            "levee_pool_idle_connections{pool=\"b\\\"q\"} NaN\n");
}

TEST(RegistryTest, ReplacedCounterCallbackReadsTheNewSource) {
  Registry registry;
  registry.replace_counter_callback("levee_cache_evictions_total", "Evicted.", {},
                                    [] { return 7.0; });
  registry.replace_counter_callback("levee_cache_evictions_total", "Evicted.", {},
                                    [] { return 2.0; });  // a reload's new store
  EXPECT_EQ(registry.render(),
            "# HELP levee_cache_evictions_total Evicted.\n"
            "# TYPE levee_cache_evictions_total counter\n"
            "levee_cache_evictions_total 2\n");
  EXPECT_THROW(
      registry.replace_counter_callback("levee_cache_evictions", "h", {}, [] { return 0.0; }),
      std::invalid_argument)
      << "a counter's name ends in _total";
}

TEST(RegistryTest, RenderRunsConcurrentlyWithUpdatesAndRegistration) {
  Registry registry;
  Counter& counter = registry.counter("levee_hits_total", "Hits.");
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    set_metrics_shard(5);
    while (!stop.load()) counter.inc();
  });
  std::thread registrar([&] {
    for (int i = 0; i < 200; ++i) {
      static_cast<void>(
          registry.gauge_family("levee_g" + std::to_string(i), "g", {"n"}).with({"x"}));
    }
  });
  for (int i = 0; i < 200; ++i) EXPECT_FALSE(registry.render().empty());
  registrar.join();
  stop = true;
  writer.join();
  EXPECT_NE(registry.render().find("levee_hits_total " + std::to_string(counter.value())),
            std::string::npos);
}

// Runs `command` with `input` on its stdin; returns its exit status and stdout+stderr.
std::pair<int, std::string> run_with_input(const std::string& command, const std::string& input) {
  const std::filesystem::path output = std::filesystem::temp_directory_path() /
                                       ("levee_promtool_" + std::to_string(::getpid()) + ".out");
  const std::string line = command + " >'" + output.string() + "' 2>&1";
  FILE* pipe = ::popen(line.c_str(), "w");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::fwrite(input.data(), 1, input.size(), pipe);
  const int status = ::pclose(pipe);
  std::ifstream in(output);
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::remove(output);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}

TEST(RegistryPromtoolTest, RenderedTextPassesPromtoolCheckMetrics) {
  // A missing promtool must fail this test, never skip it.
  const auto [found, where] = run_with_input("command -v promtool", "");
  ASSERT_EQ(found, 0) << "promtool not found on PATH (Debian package 'prometheus'); "
                         "the exposition format cannot be verified";

  Registry registry;
  CounterFamily& requests = registry.counter_family(
      "levee_requests_total", "Requests handled, by route and status.", {"route", "code"});
  requests.with({"api", "200"}).inc(41);
  requests.with({"api", "503"}).inc();
  requests.with({"odd \"route\"\\with\nnewline", "200"}).inc();
  registry.counter_family("levee_upstream_errors_total", "Upstream errors.", {"kind"});
  registry.counter("levee_cache_hits_total", "Cache hits.").inc(7);
  GaugeFamily& in_flight =
      registry.gauge_family("levee_in_flight_requests", "Requests in flight.", {"route"});
  in_flight.with({"api"}).add(3);
  in_flight.with({"static"}).sub(1);
  registry.gauge("levee_open_connections", "Open client connections.").set(12);
  HistogramFamily& latency = registry.histogram_family(
      "levee_request_duration_seconds", "Request latency, \"quoted\" \\ help.", {"route"});
  for (int i = 0; i < 100; ++i) latency.with({"api"}).observe(i / 37.0);
  static_cast<void>(latency.with({"idle"}));
  registry
      .histogram("levee_batch_size_requests", "Requests per batch.",
                 std::array{1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0})
      .observe(5);
  registry.gauge_callback("levee_uptime_seconds", "Seconds since start.", {},
                          [] { return 1234.5; });
  registry.gauge_callback("levee_pool_idle_connections", "Idle upstream connections.",
                          {{"pool", "a"}}, [] { return 2.0; });
  registry.gauge_callback("levee_pool_idle_connections", "Idle upstream connections.",
                          {{"pool", "b"}}, [] { return std::numeric_limits<double>::infinity(); });

  const std::string text = registry.render();
  const auto [status, output] = run_with_input("promtool check metrics", text);
  EXPECT_EQ(status, 0) << "promtool check metrics rejected the output:\n"
                       << output << "\n--- rendered ---\n"
                       << text;
  EXPECT_EQ(output, "") << text;
}

}  // namespace
}  // namespace levee::admin
