// mode = "batch" end to end: real levee (two workers) in front of a real levee-upstream, whose
// /process_batch answers {"id":<id>,"result":"processed"} per item and fails on demand when an
// item carries a "mock" field (see src/mock_upstream/processing.hpp). What is counted is what
// levee-upstream itself counted.

#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <vector>

#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"
#include "support/process.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

Stack batch_stack(std::string_view batch_table, std::vector<std::string> upstream_args = {},
                  std::string_view route_extra = {}, std::string_view upstream_extra = {}) {
  LeveeOptions options;
  options.routes =
      "[[routes]]\nname = \"items\"\npath_prefix = \"/process\"\nupstream = \"legacy\"\n"
      "mode = \"batch\"\n" +
      std::string(route_extra) + "[routes.batch]\nupstream_path = \"/process_batch\"\n" +
      std::string(batch_table);
  options.upstream_extra = std::string(upstream_extra);
  options.workers = 2;
  return Stack(options, std::move(upstream_args));
}

// Sends every item on its own connection before reading any answer.
std::vector<HttpResult> post_together(std::uint16_t port, const std::vector<std::string>& items) {
  std::vector<HttpConnection> connections;
  connections.reserve(items.size());
  for (const std::string& item : items) {
    connections.emplace_back(port);
    EXPECT_TRUE(connections.back().send_raw(
        format_request(port, "POST", "/process", {{"Content-Type", "application/json"}}, item)));
  }
  std::vector<HttpResult> results;
  results.reserve(items.size());
  for (auto& connection : connections) results.push_back(connection.read_response());
  return results;
}

std::vector<std::string> items_with_ids(int count, std::string_view extra = {}) {
  std::vector<std::string> items;
  for (int i = 0; i < count; ++i) {
    items.push_back("{\"id\":" + std::to_string(i) + std::string(extra) + "}");
  }
  return items;
}

std::string processed(int id) {
  return "{\"id\":" + std::to_string(id) + ",\"result\":\"processed\"}";
}

std::uint64_t flushes(const Stack& stack, std::string_view reason) {
  return metric_value(stack.admin_port(), "levee_batch_flush_total{route=\"items\",reason=\"" +
                                              std::string(reason) + "\"}");
}

TEST(Batch, AThousandItemsBecomeTenCallsAndEachCallerGetsItsOwnResult) {
  // max_wait is long so that only the size cap sends batches: 1000 items, 10 calls.
  Stack stack = batch_stack("max_batch_size = 100\nmax_wait = \"10s\"\n");
  const auto results = post_together(stack.port(), items_with_ids(1000));
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(results[i].status, 200) << results[i];
    EXPECT_EQ(results[i].body, processed(i));
    EXPECT_EQ(results[i].header("Content-Type"), "application/json");
  }
  EXPECT_GE(stack.upstream.calls("/process_batch"), 10u);
  EXPECT_LE(stack.upstream.calls("/process_batch"), 12u);
  EXPECT_EQ(stack.upstream.calls("/process_batch_items"), 1000u);
  EXPECT_EQ(flushes(stack, "size_cap"), 10u);
  const auto stats = http_get(stack.admin_port(), "/stats");
  EXPECT_NE(stats.body.find("\"items\":{\"ok\":1000,"), std::string::npos) << stats.body;
  EXPECT_NE(stats.body.find("\"parked_items\":0,"), std::string::npos) << stats.body;
}

// Connections land on both workers; a batch that went with per-worker batching would wait for
// max_wait (10 s), a global one goes when the 20th item arrives.
TEST(Batch, ItemsOnTwoWorkersFillOneBatch) {
  Stack stack = batch_stack("max_batch_size = 20\nmax_wait = \"10s\"\n");
  std::vector<HttpConnection> connections;
  for (const std::string& item : items_with_ids(20)) {
    connections.emplace_back(stack.port());
    ASSERT_TRUE(
        connections.back().send_raw(format_request(stack.port(), "POST", "/process", {}, item)));
  }
  EXPECT_TRUE(eventually([&] { return stack.upstream.calls("/process_batch") == 1; }, 5s));
  for (auto& connection : connections) EXPECT_EQ(connection.read_response().status, 200);
  EXPECT_EQ(stack.upstream.calls("/process_batch_items"), 20u);
}

// Nothing but the max_wait timer can send a lone item (the batch never fills): the flush
// reason says the timer sent it, and the wait is at least max_wait.
TEST(Batch, ALoneItemGoesAfterMaxWait) {
  Stack stack = batch_stack("max_wait = \"300ms\"\n");
  const auto sent = std::chrono::steady_clock::now();
  const HttpResult result = http_post(stack.port(), "/process", "{\"id\":7}");
  const auto waited = std::chrono::steady_clock::now() - sent;
  EXPECT_EQ(result.status, 200) << result;
  EXPECT_EQ(result.body, processed(7));
  EXPECT_GE(waited, 300ms);
  EXPECT_EQ(flushes(stack, "timeout"), 1u);
}

TEST(Batch, TheDebugHeaderSaysHowTheBatchWent) {
  Stack stack = batch_stack("max_batch_size = 4\nmax_wait = \"10s\"\ndebug_header = true\n",
                            {"--batch-latency", "100ms"});
  for (const HttpResult& result : post_together(stack.port(), items_with_ids(4))) {
    ASSERT_EQ(result.status, 200) << result;
    const std::string header = result.header("X-Levee-Batch").value_or("");
    ASSERT_TRUE(header.starts_with("items=4; waited_us=")) << header;
    const auto upstream_us = std::stoll(header.substr(header.find("upstream_us=") + 12));
    EXPECT_GE(upstream_us, 100'000) << header;  // the mock's batch latency
  }
  Stack quiet = batch_stack("max_wait = \"1ms\"\n");
  EXPECT_FALSE(http_post(quiet.port(), "/process", "{\"id\":1}").has_header("X-Levee-Batch"));
}

TEST(Batch, BadItemsAreRefusedBeforeTheyAreParked) {
  Stack stack = batch_stack("max_item_bytes = 64\n");
  EXPECT_EQ(http_post(stack.port(), "/process", "{\"id\":").status, 400);
  EXPECT_EQ(http_post(stack.port(), "/process", "").status, 400);
  const HttpResult large =
      http_post(stack.port(), "/process", "{\"id\":1,\"pad\":\"" + std::string(100, 'x') + "\"}");
  EXPECT_EQ(large.status, 413);
  EXPECT_NE(large.body.find("max_item_bytes"), std::string::npos) << large;
  const HttpResult get = http_get(stack.port(), "/process");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.header("Allow"), "POST");
  EXPECT_EQ(stack.upstream.calls("/process_batch"), 0u);
}

// Four items in one batch (max_batch_size = 4), one of which tells the mock how to fail.
std::vector<HttpResult> batch_of_four_with(Stack& stack, std::string_view mock) {
  std::vector<std::string> items = items_with_ids(3);
  items.push_back("{\"id\":3,\"mock\":\"" + std::string(mock) + "\"}");
  return post_together(stack.port(), items);
}

TEST(Batch, AFailedBatchCallFailsEveryMemberAndTheNextBatchGoesAsUsual) {
  Stack stack = batch_stack("max_batch_size = 4\nmax_wait = \"10s\"\n");
  for (const HttpResult& result : batch_of_four_with(stack, "status_500")) {
    EXPECT_EQ(result.status, 502) << result;
    EXPECT_NE(result.body.find("batch call to /process_batch failed: 500"), std::string::npos)
        << result;
  }
  for (const HttpResult& result : post_together(stack.port(), items_with_ids(4))) {
    EXPECT_EQ(result.status, 200) << result;
  }
  EXPECT_EQ(stack.upstream.calls("/process_batch"), 2u);
}

TEST(Batch, AnOverloadedUpstreamsRetryAfterReachesEveryMember) {
  Stack stack = batch_stack("max_batch_size = 4\nmax_wait = \"10s\"\n");
  for (const HttpResult& result : batch_of_four_with(stack, "status_503")) {
    EXPECT_EQ(result.status, 503) << result;
    EXPECT_EQ(result.header("Retry-After"), "7") << result;
    EXPECT_NE(result.body.find("batch call to /process_batch failed: 503"), std::string::npos)
        << result;
  }
}

TEST(Batch, AResponseThatCannotBeDemultiplexedFailsEveryMemberWithTheReason) {
  Stack stack = batch_stack("max_batch_size = 4\nmax_wait = \"10s\"\n");
  for (const auto& [mock, reason] : std::vector<std::pair<std::string, std::string>>{
           {"not_json", "is not JSON"}, {"short", "3 results for 4 items"}}) {
    for (const HttpResult& result : batch_of_four_with(stack, mock)) {
      EXPECT_EQ(result.status, 502) << result;
      EXPECT_NE(result.body.find("cannot be demultiplexed"), std::string::npos) << result;
      EXPECT_NE(result.body.find(reason), std::string::npos) << mock << ": " << result;
    }
  }
  EXPECT_EQ(metric_value(stack.admin_port(),
                         "levee_batch_calls_total{route=\"items\",outcome=\"demux_failed\"}"),
            2u);
}

TEST(Batch, ByIdTheOrderDoesNotMatterButUnknownAndDuplicateIdsFailTheBatch) {
  Stack stack = batch_stack("max_batch_size = 4\nmax_wait = \"10s\"\ndemux = \"id\"\n");
  const auto reversed = batch_of_four_with(stack, "reverse");
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(reversed[i].status, 200) << reversed[i];
    EXPECT_EQ(reversed[i].body, processed(i));
  }
  for (const auto& [mock, reason] : std::vector<std::pair<std::string, std::string>>{
           {"dup_id", "two results have id"}, {"unknown_id", "that no item in the batch has"}}) {
    for (const HttpResult& result : batch_of_four_with(stack, mock)) {
      EXPECT_EQ(result.status, 502) << result;
      EXPECT_NE(result.body.find(reason), std::string::npos) << mock << ": " << result;
    }
  }
  // An item without the id field cannot be matched: refused before it is parked.
  EXPECT_EQ(http_post(stack.port(), "/process", "{\"name\":\"x\"}").status, 400);
}

TEST(Batch, AnItemTheUpstreamMarksFailedFailsOnlyItsCaller) {
  Stack stack =
      batch_stack("max_batch_size = 4\nmax_wait = \"10s\"\nitem_error_field = \"error\"\n");
  const auto results = batch_of_four_with(stack, "fail_item");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(results[i].status, 200) << results[i];
  EXPECT_EQ(results[3].status, 502) << results[3];
  EXPECT_EQ(results[3].body, "{\"id\":3,\"error\":\"item rejected\"}");
}

TEST(Batch, AnUpstreamTimeoutOrRefusalReachesEveryMember) {
  Stack slow = batch_stack("max_batch_size = 2\nmax_wait = \"10s\"\n", {"--latency", "2s"}, {},
                           "request_timeout = \"200ms\"\n");
  for (const HttpResult& result : post_together(slow.port(), items_with_ids(2))) {
    EXPECT_EQ(result.status, 504) << result;
  }
  LeveeOptions options;
  options.routes =
      "[[routes]]\nname = \"items\"\npath_prefix = \"/process\"\nupstream = \"legacy\"\n"
      "mode = \"batch\"\n[routes.batch]\nupstream_path = \"/process_batch\"\n"
      "max_batch_size = 2\nmax_wait = \"10s\"\n";
  options.upstream_address = "127.0.0.1:1";  // nothing listens there
  Stack refused(options);
  for (const HttpResult& result : post_together(refused.port(), items_with_ids(2))) {
    EXPECT_EQ(result.status, 502) << result;
  }
}

TEST(Batch, AFullQueueSheds503WithRetryAfterAndLosesNoParkedItem) {
  // One call in flight, no queue, one item in the open batch: the rest is shed at once.
  Stack stack = batch_stack(
      "max_batch_size = 1\nmax_wait = \"10s\"\nmax_inflight_batches = 1\nmax_queued_batches = 0\n",
      {"--batch-latency", "500ms"});
  const auto results = post_together(stack.port(), items_with_ids(10));
  int ok = 0;
  int shed = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].status == 200) {
      EXPECT_EQ(results[i].body, processed(static_cast<int>(i)));
      ++ok;
    } else {
      EXPECT_EQ(results[i].status, 503) << results[i];
      EXPECT_EQ(results[i].header("Retry-After"), "1");
      ++shed;
    }
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(shed, 8);
  EXPECT_EQ(stack.upstream.calls("/process_batch_items"), 2u);
  EXPECT_EQ(
      metric_value(stack.admin_port(), "levee_batch_items_total{route=\"items\",outcome=\"shed\"}"),
      8u);
}

TEST(Batch, NdjsonAndWrappedPayloadsRoundTrip) {
  for (const std::string table :
       {"payload = \"ndjson\"\nresponse = \"ndjson\"\n",
        "payload = \"wrapped\"\nwrap_path = \"requests\"\nresults_path = \"results\"\n"}) {
    Stack stack = batch_stack("max_batch_size = 3\nmax_wait = \"10s\"\n" + table);
    // Pretty-printed items must still go out one per line as NDJSON.
    const auto results =
        post_together(stack.port(), {"{\"id\":0}", "{\n  \"id\": 1\n}", "{\"id\":2}"});
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(results[i].status, 200) << table << results[i];
      EXPECT_EQ(results[i].body, processed(i)) << table;
    }
    EXPECT_EQ(stack.upstream.calls("/process_batch"), 1u);
  }
}

TEST(Batch, AClientThatGoesAwayLeavesItsBatchBeforeItGoes) {
  Stack stack = batch_stack("max_batch_size = 10\nmax_wait = \"10s\"\n");
  HttpConnection stays(stack.port());
  ASSERT_TRUE(stays.send_raw(format_request(stack.port(), "POST", "/process", {}, "{\"id\":1}")));
  {
    HttpConnection leaves(stack.port());
    ASSERT_TRUE(
        leaves.send_raw(format_request(stack.port(), "POST", "/process", {}, "{\"id\":2}")));
    ASSERT_TRUE(eventually([&] {
      return metric_value(stack.admin_port(), "levee_batch_parked_items{route=\"items\"}") == 2;
    }));
  }
  EXPECT_TRUE(eventually([&] {
    return metric_value(stack.admin_port(), "levee_batch_parked_items{route=\"items\"}") == 1;
  }));
  EXPECT_EQ(metric_value(stack.admin_port(),
                         "levee_batch_items_total{route=\"items\",outcome=\"withdrawn\"}"),
            1u);
  ASSERT_TRUE(stack.levee.process.send_signal(SIGTERM));  // sends the open batch now
  EXPECT_EQ(stays.read_response().status, 200);
  EXPECT_EQ(stack.upstream.calls("/process_batch_items"), 1u);
}

// The request and the client's end of stream arrive together: the item is still taken out.
TEST(Batch, AClientThatHalfClosesWithItsRequestLeavesToo) {
  Stack stack = batch_stack("max_batch_size = 10\nmax_wait = \"10s\"\n");
  HttpConnection leaves(stack.port());
  ASSERT_TRUE(leaves.send_raw(format_request(stack.port(), "POST", "/process", {}, "{\"id\":2}")));
  leaves.shutdown_write();
  EXPECT_TRUE(eventually([&] {
    return metric_value(stack.admin_port(),
                        "levee_batch_items_total{route=\"items\",outcome=\"withdrawn\"}") == 1;
  }));
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_batch_parked_items{route=\"items\"}"), 0u);
}

// The client's next request arrives while its first item is parked: the watch takes the first
// byte of it, which must reach the next request intact and in order.
TEST(Batch, APipelinedRequestThatArrivesWhileParkedIsServedIntact) {
  Stack stack = batch_stack("max_batch_size = 10\nmax_wait = \"300ms\"\n");
  HttpConnection connection(stack.port());
  ASSERT_TRUE(
      connection.send_raw(format_request(stack.port(), "POST", "/process", {}, "{\"id\":1}")));
  ASSERT_TRUE(eventually([&] {
    return metric_value(stack.admin_port(), "levee_batch_parked_items{route=\"items\"}") == 1;
  }));
  ASSERT_TRUE(
      connection.send_raw(format_request(stack.port(), "POST", "/process", {}, "{\"id\":2}")));
  const HttpResult first = connection.read_response();
  const HttpResult second = connection.read_response();
  EXPECT_EQ(first.status, 200) << first;
  EXPECT_EQ(first.body, processed(1));
  EXPECT_EQ(second.status, 200) << second;
  EXPECT_EQ(second.body, processed(2));
  EXPECT_EQ(stack.upstream.calls("/process_batch"), 2u);
}

// A stop that cuts the drain (drain_timeout) with batch calls in flight on both workers, a
// batch queued and one open: nothing of one worker may outlive it (checked under ASan).
TEST(Batch, AForcedStopWithBatchesInFlightExitsCleanly) {
  LeveeOptions options;
  options.routes =
      "[[routes]]\nname = \"items\"\npath_prefix = \"/process\"\nupstream = \"legacy\"\n"
      "mode = \"batch\"\n[routes.batch]\nupstream_path = \"/process_batch\"\n"
      "max_batch_size = 2\nmax_wait = \"10s\"\nmax_inflight_batches = 2\n"
      "max_queued_batches = 1\n";
  options.server_extra = "drain_timeout = \"200ms\"\n";
  Stack stack(options, {"--batch-latency", "5s"});
  std::vector<HttpConnection> parked;
  for (const std::string& item : items_with_ids(7)) {
    parked.emplace_back(stack.port());
    ASSERT_TRUE(parked.back().send_raw(format_request(stack.port(), "POST", "/process", {}, item)));
  }
  ASSERT_TRUE(eventually([&] {
    return metric_value(stack.admin_port(), "levee_batch_parked_items{route=\"items\"}") == 7;
  }));
  ASSERT_TRUE(stack.levee.process.send_signal(SIGTERM));
  EXPECT_EQ(stack.levee.process.wait_exit(10s), 1);  // the drain was cut: 1, not a crash
  EXPECT_EQ(stack.levee.process.stderr_text().find("AddressSanitizer"), std::string::npos);
}

// max_wait is a minute, far past the client's 10 s timeout: an answer at all means SIGTERM
// sent the batch, with no wall-clock bound in the test.
TEST(Batch, SigtermSendsAParkedBatchAtOnceAndAnswersIt) {
  Stack stack = batch_stack("max_wait = \"60s\"\n");
  std::vector<HttpConnection> parked;
  for (const std::string& item : items_with_ids(3)) {
    parked.emplace_back(stack.port());
    ASSERT_TRUE(parked.back().send_raw(format_request(stack.port(), "POST", "/process", {}, item)));
  }
  ASSERT_TRUE(eventually([&] {
    return metric_value(stack.admin_port(), "levee_batch_parked_items{route=\"items\"}") == 3;
  }));
  ASSERT_TRUE(stack.levee.process.send_signal(SIGTERM));
  for (int i = 0; i < 3; ++i) {
    const HttpResult result = parked[i].read_response();
    EXPECT_EQ(result.status, 200) << result;
    EXPECT_EQ(result.body, processed(i));
  }
  EXPECT_EQ(stack.upstream.calls("/process_batch"), 1u);
  EXPECT_EQ(stack.levee.process.wait_exit(10s), 0);
}

}  // namespace
}  // namespace levee::testing
