// levee-upstream as a black box: the bundled slow service every other integration test and
// the benchmarks stand on. Each test starts its own process on an ephemeral port.

#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <csignal>
#include <cstdio>
#include <set>
#include <string>

#include "support/http_client.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

simdjson::dom::element parse_json(simdjson::dom::parser& parser, const std::string& text) {
  simdjson::dom::element element;
  const auto error = parser.parse(text).get(element);
  EXPECT_EQ(error, simdjson::SUCCESS) << "not JSON: " << text;
  return element;
}

// Json: a dom::element or a simdjson_result of one (what operator[] returns).
template <typename Json>
std::string json_string(Json element, std::string_view key) {
  std::string_view value;
  if (element[key].get(value) != simdjson::SUCCESS) return "<missing or not a string>";
  return std::string(value);
}

template <typename Json>
std::uint64_t json_uint(Json element, std::string_view key) {
  std::uint64_t value = 0;
  EXPECT_EQ(element[key].get(value), simdjson::SUCCESS) << key;
  return value;
}

class MockUpstream : public ::testing::Test {
 protected:
  UpstreamProcess upstream_;
  simdjson::dom::parser parser_;
};

TEST_F(MockUpstream, PrintsOneReadyLineWithTheRealPort) {
  EXPECT_NE(upstream_.port, 0);
  EXPECT_EQ(upstream_.process.stdout_text(),
            "levee-upstream ready listen=127.0.0.1:" + std::to_string(upstream_.port) + "\n");
  EXPECT_TRUE(accepts_connections(upstream_.port));
  EXPECT_EQ(upstream_.address(), "127.0.0.1:" + std::to_string(upstream_.port));
}

TEST_F(MockUpstream, ApiEchoesTheRequest) {
  const HttpResult result = http_get(upstream_.port, "/api/items/7?b=2&a=1",
                                     {{"Authorization", "Bearer alice"},
                                      {"X-Dup", "one"},
                                      {"x-dup", "two"},
                                      {"X-Quote", "say \"hi\"\\"}});
  ASSERT_TRUE(result.ok) << result;
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.header("content-type"), "application/json");
  const auto echo = parse_json(parser_, result.body);
  EXPECT_EQ(json_string(echo, "method"), "GET");
  EXPECT_EQ(json_string(echo, "path"), "/api/items/7");
  EXPECT_EQ(json_string(echo, "query"), "b=2&a=1");
  EXPECT_EQ(json_string(echo, "authorization"), "Bearer alice");
  EXPECT_EQ(json_string(echo, "host"), "127.0.0.1:" + std::to_string(upstream_.port));
  EXPECT_EQ(json_string(echo, "body"), "");
  EXPECT_EQ(json_uint(echo, "hits"), 1u);
  const auto headers = echo["headers"];
  EXPECT_EQ(json_string(headers, "x-dup"), "one, two");
  EXPECT_EQ(json_string(headers, "x-quote"), "say \"hi\"\\");
  EXPECT_EQ(json_string(headers, "authorization"), "Bearer alice");
}

TEST_F(MockUpstream, ApiCountsHitsPerPathAndEchoesBodies) {
  for (std::uint64_t expected = 1; expected <= 3; ++expected) {
    const HttpResult result =
        http_get(upstream_.port, "/api/counted?q=" + std::to_string(expected));
    ASSERT_TRUE(result.ok) << result;
    EXPECT_EQ(json_uint(parse_json(parser_, result.body), "hits"), expected);
  }
  const std::string body = "line one\nline \"two\"\t\x01 caf\xc3\xa9";
  const HttpResult post = http_request(upstream_.port, "PUT", "/api/other", {}, body);
  ASSERT_TRUE(post.ok) << post;
  const auto echo = parse_json(parser_, post.body);
  EXPECT_EQ(json_string(echo, "method"), "PUT");
  EXPECT_EQ(json_string(echo, "body"), body);
  EXPECT_EQ(json_uint(echo, "hits"), 1u);
  EXPECT_TRUE(echo["authorization"].is_null());

  const HttpResult patch = http_request(upstream_.port, "PATCH", "/api/other");
  ASSERT_TRUE(patch.ok) << patch;
  EXPECT_EQ(patch.status, 405);
}

TEST_F(MockUpstream, HeadAnswersHeadersOnlyAndKeepsTheConnection) {
  HttpConnection connection(upstream_.port);
  const HttpResult head = connection.request("HEAD", "/api/head");
  ASSERT_TRUE(head.ok) << head;
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  ASSERT_TRUE(head.header("content-length").has_value());
  EXPECT_GT(std::stoul(*head.header("content-length")), 0u);
  const HttpResult get = connection.request("GET", "/api/head");
  ASSERT_TRUE(get.ok) << get;
  EXPECT_EQ(json_uint(parse_json(parser_, get.body), "hits"), 2u);
}

TEST_F(MockUpstream, ProcessAnswersTheRawIdAndItem) {
  const std::string item = R"({"id": 1.50, "payload": {"x": [1, 2]}})";
  const HttpResult result = http_post(upstream_.port, "/process", "  " + item + "\n");
  ASSERT_TRUE(result.ok) << result;
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, R"({"id":1.50,"result":"processed","item":)" + item + "}");

  const HttpResult text_id = http_post(upstream_.port, "/process", R"({"id":"caf\u00e9"})");
  ASSERT_TRUE(text_id.ok) << text_id;
  EXPECT_EQ(text_id.body, R"({"id":"caf\u00e9","result":"processed","item":{"id":"caf\u00e9"}})");

  for (const std::string bad :
       {"not json", R"({"id": )", R"({"name": "no id"})", "[1]", R"({"id": {"nested": 1}})"}) {
    const HttpResult rejected = http_post(upstream_.port, "/process", bad);
    ASSERT_TRUE(rejected.ok) << rejected;
    EXPECT_EQ(rejected.status, 400) << bad;
    EXPECT_TRUE(parse_json(parser_, rejected.body)["error"].is_string()) << rejected.body;
  }
  EXPECT_EQ(http_get(upstream_.port, "/process").status, 405);
}

TEST_F(MockUpstream, ProcessBatchKeepsOrderAndIds) {
  const std::string batch = R"([{"id": 3}, {"id": "b", "x": [1, {"id": 9}]}, {"id": 1.50},
                                {"id": null}, {"id": -7e2, "y": "z"}])";
  const HttpResult result = http_post(upstream_.port, "/process_batch", batch);
  ASSERT_TRUE(result.ok) << result;
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, R"([{"id":3,"result":"processed"},{"id":"b","result":"processed"},)"
                         R"({"id":1.50,"result":"processed"},{"id":null,"result":"processed"},)"
                         R"({"id":-7e2,"result":"processed"}])");

  const HttpResult empty = http_post(upstream_.port, "/process_batch", "[]");
  ASSERT_TRUE(empty.ok) << empty;
  EXPECT_EQ(empty.body, "[]");

  for (const std::string bad : {"[", R"({"id": 1})", R"([{"id": 1}, {"no": 2}])", "[1, 2]"}) {
    const HttpResult rejected = http_post(upstream_.port, "/process_batch", bad);
    ASSERT_TRUE(rejected.ok) << rejected;
    EXPECT_EQ(rejected.status, 400) << bad;
  }
  EXPECT_EQ(upstream_.calls("/process_batch"), 6u);
  EXPECT_EQ(upstream_.calls("/process_batch_items"), 5u);
}

TEST_F(MockUpstream, StatsCountExactlyAndResetZeroesThem) {
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(http_get(upstream_.port, "/api/a?i=" + std::to_string(i)).status, 200);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(http_get(upstream_.port, "/api/b").status, 200);
  ASSERT_EQ(http_post(upstream_.port, "/process", R"({"id":1})").status, 200);
  ASSERT_EQ(http_post(upstream_.port, "/process_batch", R"([{"id":1},{"id":2},{"id":3}])").status,
            200);
  ASSERT_EQ(http_post(upstream_.port, "/process_batch", R"([{"id":4}])").status, 200);
  ASSERT_EQ(http_get(upstream_.port, "/slow?ms=1").status, 200);
  ASSERT_EQ(http_get(upstream_.port, "/status/503").status, 503);
  ASSERT_EQ(http_get(upstream_.port, "/no/such/thing").status, 404);
  ASSERT_EQ(http_get(upstream_.port, "/set-cookie").status, 200);

  const UpstreamStats stats = upstream_.stats();
  EXPECT_EQ(stats.total, 12u);
  EXPECT_EQ(stats.calls("/api"), 5u);
  EXPECT_EQ(stats.calls("/process"), 1u);
  EXPECT_EQ(stats.calls("/process_batch"), 2u);
  EXPECT_EQ(stats.calls("/process_batch_items"), 4u);
  EXPECT_EQ(stats.calls("/slow"), 1u);
  EXPECT_EQ(stats.calls("/status"), 1u);
  EXPECT_EQ(stats.calls("/other"), 2u);
  EXPECT_EQ(stats.calls("/api/a"), 3u);
  EXPECT_EQ(stats.calls("/api/b"), 2u);
  EXPECT_EQ(stats.calls("/status/503"), 1u);
  EXPECT_EQ(stats.calls("/api/never"), 0u);
  EXPECT_EQ(upstream_.stats().total, 12u) << "/__stats must not count itself";

  upstream_.reset();
  const UpstreamStats after = upstream_.stats();
  EXPECT_EQ(after.total, 0u);
  for (const auto& [name, count] : after.endpoints) EXPECT_EQ(count, 0u) << name;
  EXPECT_TRUE(after.paths.empty());
  const HttpResult again = http_get(upstream_.port, "/api/a");
  EXPECT_EQ(json_uint(parse_json(parser_, again.body), "hits"), 1u);
}

TEST_F(MockUpstream, SlowWaitsTheRequestedTime) {
  // A sleep of ten times as long, asked for first, must still be asleep when this one answers:
  // the order of the two answers bounds the short sleep without a wall-clock limit.
  HttpConnection longer(upstream_.port);
  ASSERT_TRUE(longer.send_raw(format_request(upstream_.port, "GET", "/slow?ms=3000")));
  const HttpResult result = http_get(upstream_.port, "/slow?ms=300");
  ASSERT_TRUE(result.ok) << result;
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, R"({"slept_ms":300})");
  EXPECT_GE(result.elapsed, 300ms);
  longer.set_timeout(1ms);
  const HttpResult early = longer.read_response();
  EXPECT_FALSE(early.ok) << "the 3000 ms sleep answered before the 300 ms one: " << early;
  EXPECT_EQ(http_get(upstream_.port, "/slow?ms=60001").status, 400);
  EXPECT_EQ(http_get(upstream_.port, "/slow").status, 400);
}

TEST_F(MockUpstream, StatusAnswersTheAskedStatus) {
  const HttpResult unavailable = http_get(upstream_.port, "/status/503");
  ASSERT_TRUE(unavailable.ok) << unavailable;
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(unavailable.body, R"({"status":503})");

  const HttpResult no_content = http_get(upstream_.port, "/status/204");
  ASSERT_TRUE(no_content.ok) << no_content;
  EXPECT_EQ(no_content.status, 204);
  EXPECT_TRUE(no_content.body.empty());
  EXPECT_FALSE(no_content.has_header("content-length"));
  EXPECT_EQ(http_get(upstream_.port, "/status/abc").status, 400);
}

TEST_F(MockUpstream, SetCookieAndChunkedAndClose) {
  const HttpResult cookie = http_get(upstream_.port, "/set-cookie");
  ASSERT_TRUE(cookie.ok) << cookie;
  EXPECT_EQ(cookie.header("Set-Cookie"), "session=abc");

  const HttpResult chunked = http_get(upstream_.port, "/chunked");
  ASSERT_TRUE(chunked.ok) << chunked;
  EXPECT_TRUE(chunked.chunked);
  EXPECT_FALSE(chunked.has_header("content-length"));
  EXPECT_EQ(chunked.body, R"({"chunked":true,"parts":["one","two","three"]})");

  HttpConnection connection(upstream_.port);
  const HttpResult closing = connection.request("GET", "/close");
  ASSERT_TRUE(closing.ok) << closing;
  EXPECT_EQ(closing.status, 200);
  EXPECT_EQ(closing.header("connection"), "close");
  EXPECT_TRUE(connection.closed_by_peer(2s));
}

TEST_F(MockUpstream, KeepsConnectionsAliveAndHandlesPipelining) {
  HttpConnection connection(upstream_.port);
  const HttpResult first = connection.request("GET", "/api/keep");
  ASSERT_TRUE(first.ok) << first;
  EXPECT_TRUE(first.keep_alive);
  EXPECT_FALSE(connection.closed_by_peer(100ms));
  const HttpResult second = connection.request("GET", "/api/keep");
  ASSERT_TRUE(second.ok) << second;
  EXPECT_EQ(json_uint(parse_json(parser_, second.body), "hits"), 2u);

  ASSERT_TRUE(
      connection.send_raw(format_request(upstream_.port, "GET", "/api/pipe") +
                          format_request(upstream_.port, "POST", "/process", {}, R"({"id":5})")));
  const HttpResult pipelined_api = connection.read_response();
  const HttpResult pipelined_process = connection.read_response();
  ASSERT_TRUE(pipelined_api.ok) << pipelined_api;
  ASSERT_TRUE(pipelined_process.ok) << pipelined_process;
  EXPECT_EQ(json_string(parse_json(parser_, pipelined_api.body), "path"), "/api/pipe");
  EXPECT_EQ(pipelined_process.body, R"({"id":5,"result":"processed","item":{"id":5}})");
  EXPECT_EQ(upstream_.calls("total"), 0u) << "\"total\" is not an endpoint name";
  EXPECT_EQ(upstream_.stats().total, 4u);
}

TEST_F(MockUpstream, RejectsOversizedBodiesWith413) {
  HttpConnection connection(upstream_.port);
  const HttpResult result =
      connection.request("POST", "/api/big", {{"Content-Length", std::to_string(17u << 20)}});
  ASSERT_TRUE(result.ok) << result;
  EXPECT_EQ(result.status, 413);
  EXPECT_TRUE(connection.closed_by_peer(3s));
}

TEST_F(MockUpstream, UnknownPathsAre404) {
  const HttpResult result = http_get(upstream_.port, "/nothing-here");
  ASSERT_TRUE(result.ok) << result;
  EXPECT_EQ(result.status, 404);
}

TEST_F(MockUpstream, ExitsZeroOnSigterm) {
  ASSERT_TRUE(upstream_.process.send_signal(SIGTERM));
  EXPECT_EQ(upstream_.process.wait_exit(5s), 0);
  EXPECT_FALSE(upstream_.process.running());
}

// The latency is a minute, far past the client's 10 s timeout: which call it delays shows in
// which call is answered at all, with no wall-clock bound on the fast one.
TEST(MockUpstreamOptions, AppliesLatencyAndBatchLatency) {
  UpstreamProcess upstream({"--latency", "60s", "--batch-latency", "0"});
  const HttpResult api = http_request(upstream.port, "GET", "/api/slowly", {}, {}, 300ms);
  EXPECT_FALSE(api.ok) << "/api was not held for --latency: " << api;
  EXPECT_NE(api.error.find("timeout"), std::string::npos) << api;
  const HttpResult batch = http_post(upstream.port, "/process_batch", R"([{"id":1}])");
  ASSERT_TRUE(batch.ok) << "/process_batch was held, not sent at --batch-latency 0: " << batch;
  EXPECT_EQ(batch.status, 200);
}

// --release-every holds an answer to the next multiple of the interval past its latency and
// says how long in levee's batch debug header (the batch benchmark's control).
TEST(MockUpstreamOptions, ReleaseEveryHoldsAnswersAndSaysHowLong) {
  UpstreamProcess upstream({"--latency", "20ms", "--release-every", "50ms"});
  for (int i = 0; i < 3; ++i) {
    const HttpResult result = http_post(upstream.port, "/process", R"({"id":7})");
    ASSERT_TRUE(result.ok) << result;
    EXPECT_GE(result.elapsed, 20ms);
    const auto header = result.header("X-Levee-Batch");
    ASSERT_TRUE(header.has_value()) << result;
    unsigned long long waited_us = 0;
    ASSERT_EQ(std::sscanf(header->c_str(), "items=1; waited_us=%llu", &waited_us), 1) << *header;
    EXPECT_EQ(*header, "items=1; waited_us=" + std::to_string(waited_us) + "; upstream_us=0");
    EXPECT_GE(waited_us, 20'000u) << *header;
  }
  const HttpResult at_once = http_get(upstream.port, "/__stats");
  EXPECT_FALSE(at_once.has_header("X-Levee-Batch")) << "an answer without latency is not held";

  UpstreamProcess plain({"--latency", "20ms"});
  EXPECT_FALSE(http_post(plain.port, "/process", R"({"id":7})").has_header("X-Levee-Batch"));
}

TEST(MockUpstreamOptions, RejectsAReleaseIntervalOverTenSeconds) {
  Process process(binary_path("levee-upstream"),
                  {"--listen", "127.0.0.1:0", "--release-every", "11s"});
  EXPECT_EQ(process.wait_exit(5s), 2);
  EXPECT_NE(process.stderr_text().find("--release-every must be within [0, 10s]"),
            std::string::npos)
      << process.stderr_text();
}

TEST(MockUpstreamOptions, ErrorRateOneFailsEveryApiCall) {
  UpstreamProcess upstream({"--error-rate", "1"});
  for (int i = 0; i < 3; ++i) {
    const HttpResult result = http_get(upstream.port, "/api/x");
    ASSERT_TRUE(result.ok) << result;
    EXPECT_EQ(result.status, 500);
    EXPECT_EQ(result.body, R"({"error":"injected"})");
  }
  EXPECT_EQ(http_post(upstream.port, "/process", R"({"id":1})").status, 200);
  EXPECT_EQ(upstream.calls("/api/x"), 3u);
}

TEST(MockUpstreamOptions, CountsExactlyAcrossWorkers) {
  UpstreamProcess upstream({"--workers", "3"});
  std::set<std::uint64_t> hits;
  simdjson::dom::parser parser;
  constexpr std::uint64_t calls = 40;
  std::vector<HttpConnection> connections;
  for (std::uint64_t i = 0; i < calls; ++i) connections.emplace_back(upstream.port);
  for (auto& connection : connections) {
    const HttpResult result = connection.request("GET", "/api/shared");
    ASSERT_TRUE(result.ok) << result;
    hits.insert(json_uint(parse_json(parser, result.body), "hits"));
  }
  EXPECT_EQ(hits.size(), calls);
  EXPECT_EQ(*hits.begin(), 1u);
  EXPECT_EQ(*hits.rbegin(), calls);
  EXPECT_EQ(upstream.calls("/api/shared"), calls);
}

TEST(MockUpstreamOptions, RefusesNonLoopbackAddresses) {
  for (const std::string address : {"0.0.0.0:0", "10.1.2.3:0", "[::]:0"}) {
    Process process(binary_path("levee-upstream"), {"--listen", address});
    EXPECT_NE(process.wait_exit(5s), 0) << address;
    EXPECT_NE(process.stderr_text().find("refusing to listen"), std::string::npos)
        << process.stderr_text();
    EXPECT_EQ(process.stdout_text(), "");
  }
}

TEST(MockUpstreamOptions, RejectsBadDurations) {
  Process process(binary_path("levee-upstream"), {"--listen", "127.0.0.1:0", "--latency", "fast"});
  EXPECT_EQ(process.wait_exit(5s), 2);
  EXPECT_NE(process.stderr_text().find("bad duration"), std::string::npos);
}

// The support library's own failure reporting, with levee-upstream as the child.
TEST(MockUpstreamSupport, WaitForLineReportsAnEarlyExitWithStderr) {
  Process process(binary_path("levee-upstream"), {"--listen", "0.0.0.0:0"});
  try {
    (void)process.wait_for_line("levee-upstream ready", 5s);
    ADD_FAILURE() << "wait_for_line returned";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("refusing to listen"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(process.running());
}

// The child keeps running and never prints the line: only wait_for_line's own timeout can
// end the wait, and its message says so.
TEST(MockUpstreamSupport, WaitForLineGivesUpAtItsTimeout) {
  UpstreamProcess upstream;
  const auto start = std::chrono::steady_clock::now();
  try {
    (void)upstream.process.wait_for_line("never printed", 200ms);
    ADD_FAILURE() << "wait_for_line returned";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("timed out after 200ms"), std::string::npos) << e.what();
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  EXPECT_TRUE(upstream.process.running());
}

TEST(MockUpstreamSupport, DestructorKillsARunningChild) {
  pid_t pid = 0;
  {
    UpstreamProcess upstream;
    pid = upstream.process.pid();
    ASSERT_EQ(::kill(pid, 0), 0);
  }
  EXPECT_NE(::kill(pid, 0), 0) << "child still exists after the Process was destroyed";
}

TEST(MockUpstreamSupport, StartingAMissingProgramThrows) {
  EXPECT_THROW(Process(binary_path("no-such-binary"), {}), std::runtime_error);
}

TEST(MockUpstreamSupport, ClientReportsTimeoutsAndRefusedConnections) {
  UpstreamProcess upstream;
  HttpConnection connection(upstream.port, 200ms);
  // The answer comes at 2000 ms: an ok result would mean the client outwaited its 200 ms.
  const HttpResult slow = connection.request("GET", "/slow?ms=2000");
  EXPECT_FALSE(slow.ok);
  EXPECT_NE(slow.error.find("timeout"), std::string::npos) << slow.error;
  EXPECT_GE(slow.elapsed, 200ms);

  const std::uint16_t port = upstream.port;
  upstream.process.send_signal(SIGTERM);
  ASSERT_EQ(upstream.process.wait_exit(5s), 0);
  EXPECT_FALSE(accepts_connections(port));
  EXPECT_FALSE(http_get(port, "/api/x").ok);
}

}  // namespace
}  // namespace levee::testing
