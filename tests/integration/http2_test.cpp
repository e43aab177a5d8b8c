// Issue 20: HTTP/2 on the proxy listener, spoken by clients nobody here wrote (curl, nghttp,
// h2load, all built on nghttp2 but none of them levee's code): h2c with prior knowledge next to
// HTTP/1.1 on the same port, many streams on one connection collapsing into one upstream call,
// the header-list and body limits, the advertised SETTINGS, and drain answering the streams
// in flight.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

struct ToolResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a client program to its end (each is bounded by its own --max-time or request count).
ToolResult run_tool(const std::string& program, std::vector<std::string> args) {
  Process tool(program, std::move(args));
  ToolResult result;
  result.exit_code = tool.wait_exit(60s);
  result.out = tool.stdout_text();
  result.err = tool.stderr_text();
  return result;
}

std::string url(std::uint16_t port, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

// curl's answer for one request: the body, then "<http version> <status>" on the last line.
ToolResult curl(std::vector<std::string> args) {
  std::vector<std::string> all{"-s", "--max-time", "20", "-w", "\n%{http_version} %{http_code}"};
  all.insert(all.end(), args.begin(), args.end());
  return run_tool("/usr/bin/curl", std::move(all));
}

std::string last_line(const std::string& text) {
  const auto at = text.rfind('\n');
  return at == std::string::npos ? text : text.substr(at + 1);
}

const char* const k_collapse_routes =
    "[[routes]]\nname = \"api\"\npath_prefix = \"/api/\"\nupstream = \"legacy\"\n"
    "mode = \"collapse\"\n"
    "[[routes]]\nname = \"all\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n";

TEST(Http2, PriorKnowledgeAndHttp1AreServedOnTheSameListener) {
  Stack stack;
  const ToolResult h2 = curl({"--http2-prior-knowledge", url(stack.port(), "/api/h2")});
  ASSERT_EQ(h2.exit_code, 0) << h2.err;
  EXPECT_EQ(last_line(h2.out), "2 200") << h2.out;
  EXPECT_TRUE(contains(h2.out, "\"path\":\"/api/h2\"")) << h2.out;
  // :authority reached the upstream as Host.
  EXPECT_TRUE(contains(h2.out, "\"host\":\"127.0.0.1:" + std::to_string(stack.port()))) << h2.out;

  const ToolResult h1 = curl({"--http1.1", url(stack.port(), "/api/h1")});
  ASSERT_EQ(h1.exit_code, 0) << h1.err;
  EXPECT_EQ(last_line(h1.out), "1.1 200") << h1.out;
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_http2_connections_total"), 1u);
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_http2_streams_total"), 1u);
}

TEST(Http2, AHundredStreamsOnOneConnectionReachTheUpstreamAsOneCall) {
  LeveeOptions options;
  options.routes = k_collapse_routes;
  Stack stack(options, {"--latency", "300ms"});
  const ToolResult load = run_tool(
      "/usr/bin/h2load", {"-n", "100", "-c", "1", "-m", "100", url(stack.port(), "/api/same")});
  ASSERT_EQ(load.exit_code, 0) << load.out << load.err;
  EXPECT_TRUE(contains(load.out, "100 succeeded, 0 failed")) << load.out;
  EXPECT_TRUE(contains(load.out, "status codes: 100 2xx")) << load.out;
  EXPECT_EQ(stack.upstream.calls("/api/same"), 1u);
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_http2_streams_total"), 100u);
}

TEST(Http2, DifferentPathsOnOneConnectionEachGetTheirOwnAnswer) {
  LeveeOptions options;
  options.routes = k_collapse_routes;
  Stack stack(options, {"--latency", "50ms"});
  std::vector<std::string> args{"-n", "--stat", "-m", "1"};
  for (int i = 0; i < 20; ++i) args.push_back(url(stack.port(), "/api/p" + std::to_string(i)));
  const ToolResult fetch = run_tool("/usr/bin/nghttp", args);
  ASSERT_EQ(fetch.exit_code, 0) << fetch.out << fetch.err;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(stack.upstream.calls("/api/p" + std::to_string(i)), 1u) << i;
  }
}

TEST(Http2, AHeaderListOverMaxHeaderBytesGets431) {
  LeveeOptions options;
  options.server_extra = "max_header_bytes = \"2KiB\"\n";
  Stack stack(options);
  const ToolResult big = curl({"--http2-prior-knowledge", "-H", "x-big: " + std::string(4096, 'a'),
                               url(stack.port(), "/api/big")});
  ASSERT_EQ(big.exit_code, 0) << big.err;
  EXPECT_EQ(last_line(big.out), "2 431") << big.out;
  EXPECT_EQ(stack.upstream.calls("/api/big"), 0u);
  EXPECT_EQ(metric_value(stack.admin_port(),
                         "levee_rejected_requests_total{reason=\"header_too_large\"}"),
            1u);
  // The connection and the listener go on serving.
  const ToolResult small = curl({"--http2-prior-knowledge", url(stack.port(), "/api/small")});
  EXPECT_EQ(last_line(small.out), "2 200") << small.out;
}

TEST(Http2, ABodyOverMaxBodyBytesGets413AndNothingGoesUpstream) {
  LeveeOptions options;
  options.server_extra = "max_body_bytes = \"1KiB\"\n";
  Stack stack(options);
  const std::string body_file = stack.dir.path() / "body.bin";
  (void)write_file(body_file, std::string(64 * 1024, 'b'));
  const ToolResult post = curl({"--http2-prior-knowledge", "--data-binary", "@" + body_file,
                                url(stack.port(), "/api/post")});
  ASSERT_EQ(post.exit_code, 0) << post.err;
  EXPECT_EQ(last_line(post.out), "2 413") << post.out;
  EXPECT_EQ(stack.upstream.calls("/api/post"), 0u);

  const std::string fits = stack.dir.path() / "fits.bin";
  (void)write_file(fits, std::string(512, 'c'));
  const ToolResult ok = curl(
      {"--http2-prior-knowledge", "--data-binary", "@" + fits, url(stack.port(), "/api/fits")});
  EXPECT_EQ(last_line(ok.out), "2 200") << ok.out;
  EXPECT_TRUE(contains(ok.out, std::string(512, 'c'))) << "the body reached the upstream whole";
}

TEST(Http2, TheLimitsAreAdvertisedInSettings) {
  LeveeOptions options;
  options.server_extra =
      "max_header_bytes = \"8KiB\"\n[server.http2]\nmax_concurrent_streams = 7\n"
      "initial_window_bytes = \"128KiB\"\n";
  Stack stack(options);
  const ToolResult fetch = run_tool("/usr/bin/nghttp", {"-nv", url(stack.port(), "/api/s")});
  ASSERT_EQ(fetch.exit_code, 0) << fetch.out << fetch.err;
  EXPECT_TRUE(contains(fetch.out, "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):7")) << fetch.out;
  EXPECT_TRUE(contains(fetch.out, "SETTINGS_INITIAL_WINDOW_SIZE(0x04):131072")) << fetch.out;
  EXPECT_TRUE(contains(fetch.out, "SETTINGS_MAX_HEADER_LIST_SIZE(0x06):8192")) << fetch.out;
}

TEST(Http2, DisabledHttp2LeavesThePrefaceToHttp1) {
  LeveeOptions options;
  options.server_extra = "[server.http2]\nenabled = false\n";
  Stack stack(options);
  const ToolResult h2 = curl({"--http2-prior-knowledge", url(stack.port(), "/api/h2")});
  EXPECT_NE(last_line(h2.out), "2 200") << h2.out;
  const ToolResult h1 = curl({"--http1.1", url(stack.port(), "/api/h1")});
  EXPECT_EQ(last_line(h1.out), "1.1 200") << h1.out;
}

TEST(Http2, DrainAnswersTheStreamsInFlight) {
  LeveeOptions options;
  options.routes = k_collapse_routes;
  Stack stack(options, {"--latency", "1s"});
  Process slow("/usr/bin/curl", {"-s", "--max-time", "20", "--http2-prior-knowledge", "-w",
                                 "\n%{http_version} %{http_code}", url(stack.port(), "/api/slow")});
  ASSERT_TRUE(eventually(
      [&] { return metric_value(stack.admin_port(), "levee_http2_streams_total") == 1u; }, 10s));
  ASSERT_TRUE(stack.levee.process.send_signal(SIGTERM));
  EXPECT_EQ(slow.wait_exit(20s), 0) << slow.stderr_text();
  EXPECT_EQ(last_line(slow.stdout_text()), "2 200") << slow.stdout_text();
  EXPECT_EQ(stack.levee.process.wait_exit(20s), 0) << stack.levee.process.stderr_text();
}

}  // namespace
}  // namespace levee::testing
