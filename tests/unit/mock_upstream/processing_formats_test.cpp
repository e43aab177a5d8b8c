// levee-upstream's /process_batch in the three payload formats and its failures on demand, and
// the same answers read back by levee's batch demuxer: the mock and the layer must agree.

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "layers/batch/demux.hpp"
#include "layers/batch/payload.hpp"
#include "mock_upstream/processing.hpp"

namespace levee::mock_upstream {
namespace {

namespace batch = layers::batch;

constexpr std::string_view k_ndjson = "application/x-ndjson";

TEST(ProcessBatchFormats, JsonArrayAsBefore) {
  const ProcessOutcome outcome = process_batch(R"([{"id":1},{"id":"b"}])", "application/json");
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(outcome.body, R"([{"id":1,"result":"processed"},{"id":"b","result":"processed"}])");
  EXPECT_EQ(outcome.content_type, "application/json");
  EXPECT_EQ(outcome.items, 2u);
  EXPECT_EQ(process_batch("[]").body, "[]");
}

TEST(ProcessBatchFormats, WrappedAnswersWrapped) {
  const ProcessOutcome outcome = process_batch(R"({"requests":[{"id":1},{"id":1.50}]})");
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(outcome.body,
            R"({"results":[{"id":1,"result":"processed"},{"id":1.50,"result":"processed"}]})");
  EXPECT_EQ(outcome.content_type, "application/json");
  EXPECT_EQ(outcome.items, 2u);
  EXPECT_EQ(process_batch(R"({"requests":[]})").body, R"({"results":[]})");
}

TEST(ProcessBatchFormats, NdjsonByContentType) {
  for (const std::string_view type :
       {"application/x-ndjson", "Application/X-NDJSON; charset=utf-8", " application/x-ndjson "}) {
    const ProcessOutcome outcome =
        process_batch("{\"id\":1}\n\n{\"id\": \"x\" }\r\n{\"id\":3}", type);
    EXPECT_EQ(outcome.status, 200) << type << ": " << outcome.body;
    EXPECT_EQ(outcome.body,
              "{\"id\":1,\"result\":\"processed\"}\n{\"id\":\"x\",\"result\":\"processed\"}\n"
              "{\"id\":3,\"result\":\"processed\"}\n");
    EXPECT_EQ(outcome.content_type, k_ndjson);
    EXPECT_EQ(outcome.items, 3u);
  }
  // A single line is NDJSON too when the Content-Type says so.
  const ProcessOutcome one = process_batch("{\"id\":1}", k_ndjson);
  EXPECT_EQ(one.body, "{\"id\":1,\"result\":\"processed\"}\n");
  const ProcessOutcome none = process_batch("\n", k_ndjson);
  EXPECT_EQ(none.status, 200);
  EXPECT_EQ(none.body, "");
}

TEST(ProcessBatchFormats, NdjsonRecognisedWithoutContentType) {
  const ProcessOutcome outcome = process_batch("{\"id\":1}\n{\"id\":2}\n");
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(outcome.content_type, k_ndjson);
  EXPECT_EQ(outcome.items, 2u);
  // One object on one line is a JSON document, not a batch.
  EXPECT_EQ(process_batch(R"({"id":1})").status, 400);
}

TEST(ProcessBatchFormats, RejectsMalformedBatches) {
  for (const std::string_view body :
       {"[", R"({"id": 1})", R"([{"id": 1}, {"no": 2}])", "[1, 2]", R"({"requests":{"id":1}})",
        R"({"requests":[{"id":[1]}]})", "{\"id\":1}\n{\"no\":2}\n", "{\"id\":1}\n{\"id\":\n"}) {
    const ProcessOutcome outcome = process_batch(body);
    EXPECT_EQ(outcome.status, 400) << body;
    EXPECT_EQ(outcome.items, 0u) << body;
    EXPECT_TRUE(outcome.body.starts_with("{\"error\":")) << outcome.body;
  }
  EXPECT_TRUE(process_batch("{\"id\":1}\nnot json\n", k_ndjson)
                  .body.starts_with(R"({"error":"item 1: invalid JSON: )"));
  EXPECT_EQ(process_batch(R"([{"id":1,"mock":"explode"}])").body,
            R"({"error":"item 0: unknown \"mock\" value \"explode\""})");
  EXPECT_EQ(process_batch(R"([{"id":1,"mock":5}])").body,
            R"({"error":"item 0: \"mock\" is not a string"})");
}

TEST(ProcessBatchMock, FailItemFailsOnlyThoseItems) {
  const ProcessOutcome outcome = process_batch(
      R"([{"id":1},{"id":2,"mock":"fail_item"},{"id":3},{"id":4,"mock":"fail_item"}])");
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(outcome.body, R"([{"id":1,"result":"processed"},{"id":2,"error":"item rejected"},)"
                          R"({"id":3,"result":"processed"},{"id":4,"error":"item rejected"}])");
  EXPECT_EQ(outcome.items, 4u);
}

TEST(ProcessBatchMock, WholeBatchFailures) {
  const ProcessOutcome status = process_batch(R"([{"id":1},{"id":2,"mock":"status_500"}])");
  EXPECT_EQ(status.status, 500);
  EXPECT_EQ(status.body, R"({"error":"mock status_500"})");
  EXPECT_EQ(status.items, 2u);

  const ProcessOutcome not_json = process_batch(R"({"requests":[{"id":1,"mock":"not_json"}]})");
  EXPECT_EQ(not_json.status, 200);
  EXPECT_EQ(not_json.body, "not json");
  EXPECT_EQ(not_json.items, 1u);
}

TEST(ProcessBatchMock, ResultListFaults) {
  const std::string items = R"({"id":1},{"id":"two"},{"id":3)";
  EXPECT_EQ(process_batch("[" + items + R"(,"mock":"short"}])").body,
            R"([{"id":1,"result":"processed"},{"id":"two","result":"processed"}])");
  EXPECT_EQ(process_batch("[" + items + R"(,"mock":"dup_id"}])").body,
            R"([{"id":1,"result":"processed"},{"id":"two","result":"processed"},)"
            R"({"id":1,"result":"processed"}])");
  EXPECT_EQ(process_batch("[" + items + R"(,"mock":"unknown_id"}])").body,
            R"([{"id":1,"result":"processed"},{"id":"two","result":"processed"},)"
            R"({"id":"unknown-3","result":"processed"}])");
  EXPECT_EQ(process_batch(R"([{"id":"a\"b","mock":"unknown_id"}])").body,
            R"([{"id":"unknown-a\"b","result":"processed"}])");
  EXPECT_EQ(process_batch("[" + items + R"(,"mock":"reverse"}])").body,
            R"([{"id":3,"result":"processed"},{"id":"two","result":"processed"},)"
            R"({"id":1,"result":"processed"}])");
  EXPECT_EQ(process_batch(R"([{"id":1,"mock":"short"}])").body, "[]");
}

TEST(ProcessBatchMock, TheFirstItemWithAModeDecides) {
  // "reverse" decides; the later "fail_item" still fails its own item.
  EXPECT_EQ(process_batch(R"([{"id":1,"mock":"reverse"},{"id":2,"mock":"fail_item"}])").body,
            R"([{"id":2,"error":"item rejected"},{"id":1,"result":"processed"}])");
  // "fail_item" decides: the later "status_500" has no effect on the batch.
  const ProcessOutcome outcome =
      process_batch(R"([{"id":1,"mock":"fail_item"},{"id":2,"mock":"status_500"}])");
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(outcome.body, R"([{"id":1,"error":"item rejected"},{"id":2,"result":"processed"}])");
}

TEST(ProcessBatchMock, ModesApplyToNdjson) {
  const ProcessOutcome outcome =
      process_batch("{\"id\":1}\n{\"id\":2,\"mock\":\"reverse\"}\n", k_ndjson);
  EXPECT_EQ(outcome.body,
            "{\"id\":2,\"result\":\"processed\"}\n{\"id\":1,\"result\":\"processed\"}\n");
  EXPECT_EQ(outcome.content_type, k_ndjson);
}

// levee's side of the same exchange: payload -> mock -> demux.
struct Exchange {
  batch::PayloadFormat payload = batch::PayloadFormat::json_array;
  batch::DemuxMode mode = batch::DemuxMode::position;
};

batch::DemuxResult round_trip(const Exchange& exchange, const std::vector<std::string>& items,
                              int* status = nullptr) {
  batch::PayloadSpec payload;
  payload.format = exchange.payload;
  if (payload.format == batch::PayloadFormat::wrapped) payload.wrap_path = {"requests"};
  std::vector<std::string> lines;
  std::vector<std::string_view> views;
  std::vector<std::string> ids;
  for (const std::string& item : items) {
    EXPECT_EQ(batch::check_item(item), "");
    lines.push_back(payload.format == batch::PayloadFormat::ndjson ? batch::minify_item(item)
                                                                   : item);
    ids.push_back(batch::item_id(item, "id").id);
  }
  for (const std::string& line : lines) views.push_back(line);

  const ProcessOutcome outcome = process_batch(batch::build_payload(payload, views),
                                               batch::payload_content_type(payload.format));
  if (status != nullptr) *status = outcome.status;
  batch::DemuxSpec spec;
  spec.mode = exchange.mode;
  spec.error_field = "error";
  if (outcome.content_type == k_ndjson) spec.format = batch::ResponseFormat::ndjson;
  if (payload.format == batch::PayloadFormat::wrapped) spec.results_path = {"results"};
  return batch::demux(spec, outcome.body, items.size(), ids);
}

TEST(ProcessBatchRoundTrip, EveryFormatAndModeComesBackInOrder) {
  const std::vector<std::string> items = {"{\n  \"id\": 1,\n  \"x\": [1, 2]\n}", R"({"id":"b"})",
                                          R"({"id":1.50,"mock":"fail_item"})"};
  for (const auto format : {batch::PayloadFormat::json_array, batch::PayloadFormat::wrapped,
                            batch::PayloadFormat::ndjson}) {
    for (const auto mode : {batch::DemuxMode::position, batch::DemuxMode::id}) {
      const batch::DemuxResult result = round_trip({format, mode}, items);
      ASSERT_EQ(result.error, "") << static_cast<int>(format) << "/" << static_cast<int>(mode);
      ASSERT_EQ(result.items.size(), 3u);
      EXPECT_EQ(result.items[0].body, R"({"id":1,"result":"processed"})");
      EXPECT_EQ(result.items[1].body, R"({"id":"b","result":"processed"})");
      EXPECT_EQ(result.items[2].body, R"({"id":1.50,"error":"item rejected"})");
      EXPECT_FALSE(result.items[0].failed);
      EXPECT_TRUE(result.items[2].failed);
    }
  }
}

TEST(ProcessBatchRoundTrip, ReversedResultsNeedIdMode) {
  const std::vector<std::string> items = {R"({"id":1,"mock":"reverse"})", R"({"id":2})"};
  const batch::DemuxResult by_id = round_trip({.mode = batch::DemuxMode::id}, items);
  ASSERT_EQ(by_id.error, "");
  EXPECT_EQ(by_id.items[0].body, R"({"id":1,"result":"processed"})");
  // By position the answers would be swapped: the demuxer cannot know, which is the point.
  const batch::DemuxResult by_position = round_trip({}, items);
  ASSERT_EQ(by_position.error, "");
  EXPECT_EQ(by_position.items[0].body, R"({"id":2,"result":"processed"})");
}

TEST(ProcessBatchRoundTrip, InjectedFaultsBecomeDemuxErrors) {
  const auto error_for = [](std::string_view mode, Exchange exchange) {
    const std::vector<std::string> items = {R"({"id":1})", R"({"id":2})",
                                            R"({"id":3,"mock":")" + std::string(mode) + "\"}"};
    return round_trip(exchange, items).error;
  };
  const Exchange by_id{.mode = batch::DemuxMode::id};
  EXPECT_EQ(error_for("short", {}), "batch response has 2 results for 3 items");
  EXPECT_EQ(error_for("short", by_id), "no result for item id 3");
  EXPECT_EQ(error_for("dup_id", by_id), "two results have id 1");
  EXPECT_EQ(error_for("unknown_id", by_id),
            R"(result 2 has id "unknown-3" that no item in the batch has)");
  EXPECT_TRUE(error_for("not_json", {}).starts_with("batch response is not JSON: "));
  EXPECT_EQ(error_for("short", {.payload = batch::PayloadFormat::ndjson}),
            "batch response has 2 results for 3 items");
  EXPECT_EQ(error_for("unknown_id",
                      {.payload = batch::PayloadFormat::wrapped, .mode = batch::DemuxMode::id}),
            R"(result 2 has id "unknown-3" that no item in the batch has)");
  int status = 0;
  (void)round_trip({}, {R"({"id":1,"mock":"status_500"})"}, &status);
  EXPECT_EQ(status, 500);
}

}  // namespace
}  // namespace levee::mock_upstream
