// `promtool check metrics` on the /metrics of a levee with every feature configured (issue
// 22): each mode (pass, collapse inflight, window with the adaptive and the learned policy,
// fleet, batch), the cache with its Redis tier, a breaker that opened, the access log and
// flush telemetry, after traffic went through each, so that every family has children.

#include "support/promtool.hpp"

#include <gtest/gtest.h>

#include <string>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"
#include "support/ports.hpp"
#include "support/redis_server.hpp"

namespace levee::testing {
namespace {

const HeaderList k_public_host = {{"Host", "shop.example"}};

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string every_feature(std::uint16_t redis_port, std::uint16_t dead_port,
                          const std::string& missing_model, const std::string& events) {
  const std::string model = std::string(LEVEE_SOURCE_DIR) + "/models/flush_policy.onnx";
  return "[cache]\nredis = \"127.0.0.1:" + std::to_string(redis_port) +
         "\"\nredis_timeout = \"200ms\"\n"
         "[telemetry]\nsink = \"jsonl\"\npath = \"" +
         events +
         "\"\n"
         // Nothing listens there: its first failed call opens the breaker for the test's life.
         "[upstreams.dead]\naddress = \"127.0.0.1:" +
         std::to_string(dead_port) +
         "\"\n[upstreams.dead.breaker]\nmin_calls = 1\nopen_for = \"10m\"\n"
         "[[routes]]\nname = \"cached\"\npath_prefix = \"/api/cached/\"\nupstream = \"legacy\"\n"
         "mode = \"collapse\"\n[routes.cache]\nttl = \"30s\"\n"
         "[[routes]]\nname = \"fleet\"\npath_prefix = \"/api/fleet/\"\nupstream = \"legacy\"\n"
         "mode = \"collapse\"\n[routes.collapse]\nfleet = true\n"
         "[[routes]]\nname = \"window\"\npath_prefix = \"/api/window/\"\nupstream = \"legacy\"\n"
         "mode = \"collapse\"\n[routes.collapse]\nstrategy = \"window\"\nmax_wait = \"5ms\"\n"
         "policy = \"adaptive\"\n"
         "[[routes]]\nname = \"learned\"\npath_prefix = \"/api/learned/\"\nupstream = \"legacy\"\n"
         "mode = \"collapse\"\n[routes.collapse]\nstrategy = \"window\"\nmax_wait = \"5ms\"\n"
         "policy = \"learned\"\nmodel = \"" +
         model +
         "\"\n"
         // A learned route whose model is missing: the series an operator alerts on.
         "[[routes]]\nname = \"unmodelled\"\npath_prefix = \"/api/unmodelled/\"\n"
         "upstream = \"legacy\"\nmode = \"collapse\"\n[routes.collapse]\nstrategy = \"window\"\n"
         "max_wait = \"5ms\"\npolicy = \"learned\"\nmodel = \"" +
         missing_model +
         "\"\n"
         "[[routes]]\nname = \"items\"\npath_prefix = \"/process\"\nupstream = \"legacy\"\n"
         "mode = \"batch\"\n[routes.batch]\nupstream_path = \"/process_batch\"\nmax_wait = "
         "\"2ms\"\n"
         "policy = \"adaptive\"\n"
         "[[routes]]\nname = \"broken\"\npath_prefix = \"/broken/\"\nupstream = \"dead\"\n"
         "[[routes]]\nname = \"rest\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n";
}

TEST(Promtool, MetricsOfEveryFeatureAfterTrafficPassCheckMetrics) {
  RedisServer redis(unused_port());
  TempDir out;
  LeveeOptions options;
  options.log_extra = "access_log = \"" + (out.path() / "access.jsonl").string() + "\"\n";
  options.routes =
      every_feature(redis.port(), unused_port(), (out.path() / "missing.onnx").string(),
                    (out.path() / "flush-events.jsonl").string());
  Stack stack(options);

  // levee-upstream answers 200 under /api/.
  for (const char* target : {"/api/cached/a", "/api/cached/a", "/api/fleet/a", "/api/window/a",
                             "/api/learned/a", "/api/unmodelled/a", "/api/rest", "/status/503"}) {
    const HttpResult answer = http_get(stack.port(), target, k_public_host);
    EXPECT_TRUE(answer.status == 200 || std::string_view(target) == "/status/503")
        << target << ": " << answer;
  }
  EXPECT_EQ(http_post(stack.port(), "/process", "{\"id\":1}").status, 200);
  EXPECT_EQ(http_get(stack.port(), "/broken/a").status, 502);  // refused: the breaker opens
  EXPECT_EQ(http_get(stack.port(), "/broken/a").status, 503);  // shed: breaker_open

  // Every answer is recorded once written, and flush events reach the file on a poll.
  std::string body;
  ASSERT_TRUE(eventually([&] {
    body = http_get(stack.admin_port(), "/metrics").body;
    return contains(body, "levee_request_duration_seconds_count{route=\"broken\"} 2") &&
           !contains(body, "levee_telemetry_events_total{result=\"written\"} 0");
  })) << body;
  for (const char* series : {"levee_batch_age_at_flush_seconds_count{route=\"items\"} 1",
                             "levee_cache_lookups_total{route=\"cached\",result=\"hit\"} 1",
                             "levee_cache_evictions_total 0",
                             "levee_fleet_leases_total{route=\"fleet\",outcome=\"won\"} 1",
                             "levee_policy_model_loaded{route=\"learned\"} 1",
                             "levee_policy_model_loaded{route=\"unmodelled\"} 0",
                             "levee_breaker_state{upstream=\"dead\"} 1",
                             "levee_shed_total{route=\"broken\",reason=\"breaker_open\"} 1",
                             "levee_telemetry_sink_info{sink=\"jsonl\"} 1"}) {
    EXPECT_TRUE(contains(body, series)) << series << " missing from:\n" << body;
  }

  const auto [status, output] = promtool_check_metrics(stack.dir, body);
  EXPECT_EQ(status, 0) << "promtool check metrics said:\n" << output;
}

}  // namespace
}  // namespace levee::testing
