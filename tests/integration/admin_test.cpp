// The admin listener: Prometheus metrics that promtool accepts, JSON stats, health, ready.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"
#include "support/promtool.hpp"

namespace levee::testing {
namespace {

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Admin, MetricsAreValidPrometheusTextWithPerRouteCounts) {
  LeveeOptions options;
  options.routes =
      "[[routes]]\nname = \"api\"\npath_prefix = \"/api/\"\nupstream = \"legacy\"\n"
      "mode = \"collapse\"\n"  // so that promtool checks the collapse families too
      "[[routes]]\nname = \"items\"\npath_prefix = \"/process\"\nupstream = \"legacy\"\n"
      "mode = \"batch\"\n[routes.batch]\nupstream_path = \"/process_batch\"\n"  // and batch's
      "max_wait = \"1ms\"\n"
      "[[routes]]\nname = \"rest\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n";
  Stack stack(options);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(http_get(stack.port(), "/api/m").status, 200);
  ASSERT_EQ(http_post(stack.port(), "/process", "{\"id\":1}").status, 200);
  ASSERT_EQ(http_get(stack.port(), "/status/503").status, 503);
  ASSERT_EQ(http_get(stack.port(), "/status/404").status, 404);
  HttpConnection bad(stack.port());
  ASSERT_TRUE(bad.send_raw("GET /x HTTP/1.1\r\n\r\n"));
  ASSERT_EQ(bad.read_response().status, 400);

  auto m = http_get(stack.admin_port(), "/metrics");
  ASSERT_TRUE(m.ok) << m;
  EXPECT_EQ(m.status, 200);
  EXPECT_TRUE(contains(m.header("Content-Type").value_or(""), "text/plain; version=0.0.4"));
  EXPECT_TRUE(contains(m.body, "levee_requests_total{route=\"api\",class=\"2xx\"} 3")) << m.body;
  EXPECT_TRUE(contains(m.body, "levee_requests_total{route=\"rest\",class=\"5xx\"} 1"));
  EXPECT_TRUE(contains(m.body, "levee_requests_total{route=\"rest\",class=\"4xx\"} 1"));
  EXPECT_TRUE(
      contains(m.body, "levee_upstream_requests_total{route=\"api\",outcome=\"response\"} 3"));
  EXPECT_TRUE(contains(m.body, "levee_request_duration_seconds_count{route=\"api\"} 3"));
  EXPECT_TRUE(contains(m.body, "levee_rejected_requests_total{reason=\"bad_request\"} 1"));
  EXPECT_TRUE(contains(m.body, "levee_open_connections "));
  EXPECT_TRUE(contains(m.body, "# TYPE levee_event_loop_lag_seconds histogram"));
  EXPECT_TRUE(contains(m.body, "levee_event_loop_lag_seconds_count{worker=\"0\"} "));
  EXPECT_TRUE(eventually([&] {
    const std::uint64_t samples =
        metric_value(stack.admin_port(), "levee_event_loop_lag_seconds_count{worker=\"0\"}");
    return samples != ~std::uint64_t{0} && samples >= 2;
  })) << "each worker's probe samples every 100 ms";
  EXPECT_TRUE(contains(m.body, "levee_ready 1"));
  EXPECT_TRUE(contains(m.body, "levee_collapse_requests_total{route=\"api\",role=\"leader\"} 3"));
  EXPECT_TRUE(contains(m.body, "levee_batch_size_at_flush_count{route=\"api\"} 3"));
  EXPECT_TRUE(contains(m.body, "levee_active_batch_slots{route=\"api\"} 0"));
  EXPECT_TRUE(contains(m.body, "levee_batch_calls_total{route=\"items\",outcome=\"ok\"} 1"));
  EXPECT_TRUE(contains(m.body, "levee_batch_items_total{route=\"items\",outcome=\"ok\"} 1"));
  EXPECT_TRUE(contains(m.body, "levee_batch_flush_total{route=\"items\",reason=\"timeout\"} 1"));
  EXPECT_TRUE(contains(m.body, "levee_active_batch_slots{route=\"items\"} 0"));
  EXPECT_TRUE(contains(m.body, "levee_batch_parked_items{route=\"items\"} 0"));

  // Latency accounting (issue 19): a request is recorded once its answer has been written, so
  // the last one may land just after its client read it.
  const std::string all_answered =
      "levee_added_latency_seconds_count{route=\"rest\",mode=\"pass\"} 2";
  ASSERT_TRUE(eventually([&] {
    m = http_get(stack.admin_port(), "/metrics");
    return contains(m.body, all_answered);
  })) << m.body;
  EXPECT_TRUE(
      contains(m.body, "levee_added_latency_seconds_count{route=\"api\",mode=\"collapse\"} 3"));
  EXPECT_TRUE(
      contains(m.body, "levee_added_latency_seconds_count{route=\"items\",mode=\"batch\"} 1"));
  for (const char* phase : {"admission", "parked", "upstream", "proxy", "total"}) {
    EXPECT_TRUE(contains(m.body, std::string("levee_request_phase_seconds_count{route=\"api\",") +
                                     "mode=\"collapse\",phase=\"" + phase + "\"} 3"))
        << phase;
  }
  EXPECT_TRUE(contains(
      m.body,
      "levee_request_phase_seconds_count{route=\"items\",mode=\"batch\",phase=\"parked\"} 1"));
  EXPECT_TRUE(contains(m.body,
                       "levee_request_phase_seconds_bucket{route=\"rest\",mode=\"pass\",phase="
                       "\"total\",le=\"0.0001\"}"));
  EXPECT_FALSE(contains(m.body, "route=\"rest\",mode=\"pass\",phase=\"parked\""))
      << "a pass route never parks: no series";
  EXPECT_FALSE(contains(m.body, "route=\"items\",mode=\"batch\",phase=\"admission\""))
      << "a batch route's batcher admits: no series";

  const auto [status, output] = promtool_check_metrics(stack.dir, m.body);
  EXPECT_EQ(status, 0) << "promtool check metrics said: " << output;
}

TEST(Admin, StatsHealthAndReady) {
  Stack stack;
  ASSERT_EQ(http_get(stack.port(), "/api/s").status, 200);
  auto stats = http_get(stack.admin_port(), "/stats");
  ASSERT_TRUE(stats.ok) << stats;
  EXPECT_EQ(stats.header("Content-Type").value_or(""), "application/json");
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(stats.body).get(root), simdjson::SUCCESS) << stats.body;
  bool ready = false;
  ASSERT_EQ(root["ready"].get(ready), simdjson::SUCCESS);
  EXPECT_TRUE(ready);
  simdjson::dom::array routes;
  ASSERT_EQ(root["routes"].get(routes), simdjson::SUCCESS);
  ASSERT_EQ(routes.size(), 1u);
  std::string_view name;
  ASSERT_EQ(routes.at(0)["name"].get(name), simdjson::SUCCESS);
  EXPECT_EQ(name, "all");
  std::uint64_t total = 0;
  ASSERT_EQ(routes.at(0)["requests"]["total"].get(total), simdjson::SUCCESS);
  EXPECT_EQ(total, 1u);
  std::uint64_t shed = 1;
  ASSERT_EQ(routes.at(0)["shed"]["max_pending"].get(shed), simdjson::SUCCESS) << stats.body;
  EXPECT_EQ(shed, 0u);
  simdjson::dom::object phases;
  ASSERT_EQ(routes.at(0)["phases_ms"].get(phases), simdjson::SUCCESS) << stats.body;
  for (const char* phase : {"admission", "upstream", "proxy", "total", "added"}) {
    EXPECT_EQ(phases[phase]["p99"].error(), simdjson::SUCCESS) << phase << ": " << stats.body;
  }
  EXPECT_EQ(phases["parked"].error(), simdjson::NO_SUCH_FIELD) << "a pass route never parks";
  simdjson::dom::array upstreams;
  ASSERT_EQ(root["upstreams"].get(upstreams), simdjson::SUCCESS) << stats.body;
  ASSERT_EQ(upstreams.size(), 1u);
  std::string_view breaker;
  ASSERT_EQ(upstreams.at(0)["breaker"]["state"].get(breaker), simdjson::SUCCESS) << stats.body;
  EXPECT_EQ(breaker, "closed");

  EXPECT_EQ(http_get(stack.admin_port(), "/healthz").status, 200);
  EXPECT_EQ(http_get(stack.admin_port(), "/readyz").status, 200);
  EXPECT_EQ(http_get(stack.admin_port(), "/nope").status, 404);
  EXPECT_EQ(http_post(stack.admin_port(), "/metrics", "").status, 405);
}

TEST(Admin, AccessLogWritesOneJsonLinePerRequestWhenEnabled) {
  TempDir logs;
  const auto path = (logs.path() / "access.jsonl").string();
  LeveeOptions options;
  options.log_extra = "access_log = \"" + path + "\"\n";
  Stack stack(options);
  ASSERT_EQ(http_get(stack.port(), "/api/logged?q=1", {{"Host", "svc.local"}}).status, 200);
  stack.levee.process.send_signal(SIGTERM);
  ASSERT_EQ(stack.levee.process.wait_exit(std::chrono::seconds(15)), 0);
  std::FILE* f = std::fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string text;
  char buffer[4096];
  while (auto n = std::fread(buffer, 1, sizeof(buffer), f)) text.append(buffer, n);
  std::fclose(f);
  EXPECT_TRUE(contains(text, R"("method":"GET","target":"/api/logged?q=1","host":"svc.local")"))
      << text;
  EXPECT_TRUE(contains(text, R"("route":"all","status":200)")) << text;
  simdjson::dom::parser parser;
  simdjson::dom::element line;
  EXPECT_EQ(parser.parse(text.substr(0, text.find('\n'))).get(line), simdjson::SUCCESS) << text;
  // Where its time went (issue 19).
  for (const char* field : {"admission_ms", "parked_ms", "upstream_ms", "added_ms"}) {
    double ms = -1;
    EXPECT_EQ(line[field].get(ms), simdjson::SUCCESS) << field << ": " << text;
    EXPECT_GE(ms, 0.0) << field;
  }
}

}  // namespace
}  // namespace levee::testing
