#include "layers/batch/demux.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "layers/batch/payload.hpp"

namespace levee::layers::batch {
namespace {

constexpr std::string_view k_not_json = "batch response is not JSON: ";

DemuxSpec json_spec(std::vector<std::string> results_path = {}) {
  DemuxSpec spec;
  spec.results_path = std::move(results_path);
  return spec;
}

DemuxSpec ndjson_spec() {
  DemuxSpec spec;
  spec.format = ResponseFormat::ndjson;
  return spec;
}

DemuxSpec id_spec(ResponseFormat format = ResponseFormat::json) {
  DemuxSpec spec;
  spec.format = format;
  spec.mode = DemuxMode::id;
  return spec;
}

std::vector<std::string> bodies(const DemuxResult& result) {
  std::vector<std::string> out;
  for (const DemuxedItem& item : result.items) out.push_back(item.body);
  return out;
}

std::vector<bool> failures(const DemuxResult& result) {
  std::vector<bool> out;
  for (const DemuxedItem& item : result.items) out.push_back(item.failed);
  return out;
}

// An error result: the message, and no items left behind.
std::string error_of(const DemuxResult& result) {
  EXPECT_TRUE(result.items.empty()) << "items must be empty when error is set";
  return result.error;
}

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(DemuxPosition, HandsEachItemItsElementByteForByte) {
  const DemuxResult result =
      demux(json_spec(),
            R"( [ {"id" : 1 , "v":[1, 2]} ,"caf\u00e9", 1.50 ,null,[ ],-7e2, true, {} ] )", 8);
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(bodies(result),
            (std::vector<std::string>{R"({"id" : 1 , "v":[1, 2]})", R"("caf\u00e9")", "1.50",
                                      "null", "[ ]", "-7e2", "true", "{}"}));
  EXPECT_EQ(failures(result), std::vector<bool>(8, false));
}

TEST(DemuxPosition, KeepsElementsAcrossLinesIntact) {
  const DemuxResult result = demux(json_spec(), "[\n  {\n    \"a\": 1\n  },\n  2\n]\n", 2);
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(bodies(result), (std::vector<std::string>{"{\n    \"a\": 1\n  }", "2"}));
}

TEST(DemuxPosition, EmptyBatchIsAnEmptyArray) {
  const DemuxResult result = demux(json_spec(), "[]", 0);
  EXPECT_EQ(result.error, "");
  EXPECT_TRUE(result.items.empty());
}

TEST(DemuxPosition, CountMustMatch) {
  EXPECT_EQ(error_of(demux(json_spec(), "[1,2]", 3)), "batch response has 2 results for 3 items");
  EXPECT_EQ(error_of(demux(json_spec(), "[1,2,3,4]", 3)),
            "batch response has 4 results for 3 items");
  EXPECT_EQ(error_of(demux(json_spec(), "[]", 100)), "batch response has 0 results for 100 items");
  EXPECT_EQ(error_of(demux(json_spec(), "[1]", 0)), "batch response has 1 results for 0 items");
}

TEST(DemuxPosition, FindsTheArrayAtThePath) {
  DemuxResult result =
      demux(json_spec({"results"}), R"({"meta":{"n":2},"results":[{"a":1},2]})", 2);
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(bodies(result), (std::vector<std::string>{R"({"a":1})", "2"}));

  result = demux(json_spec({"data", "results"}),
                 R"({"results":0,"data":{"x":[9],"results":["a","b"]}})", 2);
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(bodies(result), (std::vector<std::string>{R"("a")", R"("b")"}));
}

TEST(DemuxPosition, SaysWhenThereIsNoArrayAtThePath) {
  const std::string at_results = R"(batch response has no array at "results")";
  EXPECT_EQ(error_of(demux(json_spec({"results"}), R"({"result":[1]})", 1)), at_results);
  EXPECT_EQ(error_of(demux(json_spec({"results"}), R"({"results":{"0":1}})", 1)), at_results);
  EXPECT_EQ(error_of(demux(json_spec({"results"}), R"({"results":null})", 1)), at_results);
  EXPECT_EQ(error_of(demux(json_spec({"results"}), "[1]", 1)), at_results);
  EXPECT_EQ(error_of(demux(json_spec({"results"}), R"("results")", 1)), at_results);
  EXPECT_EQ(error_of(demux(json_spec({"data", "results"}), R"({"data":[{"results":[1]}]})", 1)),
            R"(batch response has no array at "data.results")");
  EXPECT_EQ(error_of(demux(json_spec(), R"({"results":[1]})", 1)),
            "batch response is not a JSON array");
  EXPECT_EQ(error_of(demux(json_spec(), "42", 1)), "batch response is not a JSON array");
}

TEST(DemuxPosition, RejectsWhatIsNotJson) {
  for (const std::string_view body :
       {"", "   ", "not json", "[1,2", "[1,2]]", "[1] [2]", "[1,]", "[1] x", R"([{"a" 1}])",
        "[\"\xff\"]", "[\"a\nb\"]", "[tru]", "[1e400]", "[123456789012345678901234567890]"}) {
    const std::string error = error_of(demux(json_spec(), body, 1));
    EXPECT_TRUE(error.starts_with(k_not_json)) << body << " -> " << error;
    EXPECT_GT(error.size(), k_not_json.size()) << "the message says why";
  }
}

TEST(DemuxErrorField, MarksOnlyTheFailedItems) {
  DemuxSpec spec = json_spec();
  spec.error_field = "error";
  const DemuxResult result = demux(spec,
                                   R"([{"id":1,"error":"item rejected"},{"id":2,"error":null},
                                       {"id":3,"error":false},{"id":4,"error":true},
                                       {"id":5,"error":0},{"id":6,"error":{}},{"id":7},
                                       "error",["error"],{"id":8,"x":{"error":1}}])",
                                   10);
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(failures(result),
            (std::vector<bool>{true, false, false, true, true, true, false, false, false, false}));
  EXPECT_EQ(result.items[0].body, R"({"id":1,"error":"item rejected"})");
  EXPECT_EQ(result.items[9].body, R"({"id":8,"x":{"error":1}})");
}

TEST(DemuxErrorField, NoFieldNoMarker) {
  const DemuxResult result = demux(json_spec(), R"([{"error":"x"}])", 1);
  ASSERT_EQ(result.error, "");
  EXPECT_FALSE(result.items[0].failed);
}

TEST(DemuxId, MatchesReorderedResultsToTheirItems) {
  const std::vector<std::string> ids = {"1", R"("b")", "1.50", R"("1")", "-7e2"};
  const DemuxResult result = demux(id_spec(),
                                   R"([{"id":-7e2,"r":5},{"r":4,"id" : "1" },{"id":1.50,"r":3},
                                       {"id":1,"r":1},{"id":"b","r":2}])",
                                   5, ids);
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(bodies(result), (std::vector<std::string>{
                                R"({"id":1,"r":1})", R"({"id":"b","r":2})", R"({"id":1.50,"r":3})",
                                R"({"r":4,"id" : "1" })", R"({"id":-7e2,"r":5})"}));
}

TEST(DemuxId, ReadsIdsAsItemIdDoes) {
  const std::vector<std::string_view> items = {R"({"key":"caf\u00e9"})", R"({"key": 10 })"};
  std::vector<std::string> ids;
  for (const std::string_view item : items) ids.push_back(item_id(item, "key").id);
  DemuxSpec spec = id_spec();
  spec.id_field = "key";
  const DemuxResult result =
      demux(spec, R"([{"key":10,"n":2}, {"key" : "caf\u00e9" ,"n":1}])", 2, ids);
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(bodies(result),
            (std::vector<std::string>{R"({"key" : "caf\u00e9" ,"n":1})", R"({"key":10,"n":2})"}));
}

TEST(DemuxId, SpellingsAreDifferentIds) {
  const std::vector<std::string> ids = {"1"};
  EXPECT_EQ(error_of(demux(id_spec(), R"([{"id":"1"}])", 1, ids)),
            R"(result 0 has id "1" that no item in the batch has)");
  EXPECT_EQ(error_of(demux(id_spec(), R"([{"id":1.0}])", 1, ids)),
            "result 0 has id 1.0 that no item in the batch has");
}

TEST(DemuxId, SaysWhyAResponseCannotBeMatched) {
  const std::vector<std::string> ids = {"1", "2", "3"};
  EXPECT_EQ(error_of(demux(id_spec(), R"([{"id":1},{"id":2},{"x":3}])", 3, ids)),
            R"(result 2 has no "id")");
  EXPECT_EQ(error_of(demux(id_spec(), R"([{"id":1},{"id":2},{"x":{"id":3}}])", 3, ids)),
            R"(result 2 has no "id")");
  EXPECT_EQ(error_of(demux(id_spec(), R"([{"id":1},3,{"id":2}])", 3, ids)),
            R"(result 1 has no "id" (not an object))");
  EXPECT_EQ(error_of(demux(id_spec(), R"([{"id":1},{"id":[2]},{"id":3}])", 3, ids)),
            R"(result 1 has an "id" that is not a string or a number)");
  EXPECT_EQ(error_of(demux(id_spec(), R"([{"id":1},{"id":null},{"id":3}])", 3, ids)),
            R"(result 1 has an "id" that is not a string or a number)");
  EXPECT_EQ(error_of(demux(id_spec(), R"([{"id":1},{"id":12},{"id":3}])", 3, ids)),
            "result 1 has id 12 that no item in the batch has");
  EXPECT_EQ(error_of(demux(id_spec(), R"([{"id":2},{"id":1},{"id":2}])", 3, ids)),
            "two results have id 2");
  EXPECT_EQ(error_of(demux(id_spec(), R"([{"id":2},{"id":1}])", 3, ids)),
            "no result for item id 3");
  EXPECT_EQ(error_of(demux(id_spec(), "[]", 3, ids)), "no result for item id 1");
  EXPECT_EQ(error_of(demux(id_spec(), R"([{"id":1},{"id":2},{"id":3},{"id":3}])", 3, ids)),
            "two results have id 3");
}

TEST(DemuxId, RejectsInconsistentItemIds) {
  const std::vector<std::string> two = {"1", "2"};
  EXPECT_EQ(error_of(demux(id_spec(), R"([{"id":1}])", 3, two)),
            "id mode needs one id per item: 2 ids for 3 items");
  const std::vector<std::string> twice = {"1", "1"};
  EXPECT_EQ(error_of(demux(id_spec(), R"([{"id":1},{"id":1}])", 2, twice)),
            "two items in the batch have id 1");
}

TEST(DemuxId, QuotesOnlyTheStartOfALongId) {
  const std::string long_id = "\"" + std::string(1024 * 1024, 'x') + "\"";
  const std::vector<std::string> ids = {"1"};
  const std::string error = error_of(demux(id_spec(), "[{\"id\":" + long_id + "}]", 1, ids));
  EXPECT_TRUE(error.starts_with("result 0 has id \"xxx")) << error.substr(0, 100);
  EXPECT_TRUE(error.ends_with("... that no item in the batch has"));
  EXPECT_LT(error.size(), 200u);
}

TEST(DemuxId, WithErrorField) {
  DemuxSpec spec = id_spec();
  spec.error_field = "error";
  const std::vector<std::string> ids = {"1", "2"};
  const DemuxResult result =
      demux(spec, R"([{"id":2,"error":"item rejected"},{"error":null,"id":1}])", 2, ids);
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(failures(result), (std::vector<bool>{false, true}));
  EXPECT_EQ(result.items[1].body, R"({"id":2,"error":"item rejected"})");
}

TEST(DemuxNdjson, OneResultPerLine) {
  const DemuxResult result = demux(ndjson_spec(), "{\"id\":1}\n[1, 2]\n\"s\"\n3\n", 4);
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(bodies(result), (std::vector<std::string>{R"({"id":1})", "[1, 2]", R"("s")", "3"}));
}

TEST(DemuxNdjson, ToleratesBlankLinesCrlfAndAMissingLastNewline) {
  const std::vector<std::string> expected = {R"({"id":1})", R"({"id":2})"};
  for (const std::string_view body :
       {"{\"id\":1}\n{\"id\":2}", "{\"id\":1}\n{\"id\":2}\n",
        "\n\n{\"id\":1}\n\n  \n{\"id\":2}\n\n", "{\"id\":1}\r\n{\"id\":2}\r\n",
        " \t{\"id\":1} \n\t{\"id\":2}\t\r\n"}) {
    const DemuxResult result = demux(ndjson_spec(), body, 2);
    ASSERT_EQ(result.error, "") << body;
    EXPECT_EQ(bodies(result), expected) << body;
  }
  const DemuxResult empty = demux(ndjson_spec(), "\n\n", 0);
  EXPECT_EQ(empty.error, "");
  EXPECT_TRUE(demux(ndjson_spec(), "", 0).error.empty());
}

TEST(DemuxNdjson, CountAndLineErrors) {
  EXPECT_EQ(error_of(demux(ndjson_spec(), "1\n2\n", 3)),
            "batch response has 2 results for 3 items");
  EXPECT_EQ(error_of(demux(ndjson_spec(), "", 1)), "batch response has 0 results for 1 items");
  const std::string bad_line = error_of(demux(ndjson_spec(), "1\n\n{\"a\":\n2}\n", 2));
  EXPECT_TRUE(bad_line.starts_with("batch response is not JSON: line 3: ")) << bad_line;
  for (const std::string_view body :
       {"1 2\n3\n", "not json\n", "[1,\n2]\n", "{\"a\":1}}\n2\n", "\"\xc3\x28\"\n2\n"}) {
    const std::string error = error_of(demux(ndjson_spec(), body, 2));
    EXPECT_TRUE(error.starts_with(k_not_json)) << body << " -> " << error;
  }
}

TEST(DemuxNdjson, IdModeAndErrorField) {
  DemuxSpec spec = id_spec(ResponseFormat::ndjson);
  spec.error_field = "error";
  const std::vector<std::string> ids = {R"("a")", R"("b")", R"("c")"};
  const DemuxResult result = demux(
      spec, "{\"id\":\"c\"}\n{\"id\":\"a\",\"error\":\"item rejected\"}\n{ \"id\" : \"b\" }\n", 3,
      ids);
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(bodies(result), (std::vector<std::string>{R"({"id":"a","error":"item rejected"})",
                                                      R"({ "id" : "b" })", R"({"id":"c"})"}));
  EXPECT_EQ(failures(result), (std::vector<bool>{true, false, false}));

  EXPECT_EQ(error_of(demux(spec, "{\"id\":\"a\"}\n7\n{\"id\":\"c\"}\n", 3, ids)),
            R"(result 1 has no "id" (not an object))");
  EXPECT_EQ(error_of(demux(spec, "{\"id\":\"a\"}\n{\"id\":\"c\"}\n", 3, ids)),
            R"(no result for item id "b")");
}

TEST(DemuxHostile, DeepNestingIsAnErrorNotACrash) {
  const std::string deep = nested(100000);
  EXPECT_TRUE(error_of(demux(json_spec(), deep, 1)).starts_with(k_not_json));
  EXPECT_TRUE(error_of(demux(json_spec(), "[" + deep + "]", 1)).starts_with(k_not_json));
  EXPECT_TRUE(error_of(demux(json_spec(), std::string(100000, '['), 1)).starts_with(k_not_json));
  EXPECT_TRUE(error_of(demux(ndjson_spec(), "1\n" + deep + "\n", 2)).starts_with(k_not_json));
  EXPECT_TRUE(error_of(demux(id_spec(), std::string(100000, '{'), 1, std::vector<std::string>{"1"}))
                  .starts_with(k_not_json));
  // Within simdjson's limit, depth is fine.
  const DemuxResult within = demux(json_spec(), "[" + nested(1000) + "]", 1);
  ASSERT_EQ(within.error, "");
  EXPECT_EQ(within.items[0].body, nested(1000));
}

TEST(DemuxHostile, AMegabyteStringPassesThrough) {
  const std::string big = "\"" + std::string(1024 * 1024, 'x') + "\"";
  const DemuxResult result = demux(json_spec(), "[" + big + ",{\"v\":" + big + "}]", 2);
  ASSERT_EQ(result.error, "");
  ASSERT_EQ(result.items.size(), 2u);
  EXPECT_EQ(result.items[0].body, big);
  EXPECT_EQ(result.items[1].body, "{\"v\":" + big + "}");
  const DemuxResult lines = demux(ndjson_spec(), big + "\n" + big, 2);
  ASSERT_EQ(lines.error, "");
  EXPECT_EQ(lines.items[1].body, big);
}

TEST(DemuxHostile, RandomBytesNeverCrash) {
  std::mt19937 random(42);
  const std::vector<std::string> ids = {"1", "2"};
  const std::string_view alphabet = "[]{}\",:0123456789.eE-+ \n\r\ttruefalsenullid\\u";
  std::size_t errors = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(random() % 128, '\0');
    for (char& c : bytes) {
      c = round % 2 == 0 ? static_cast<char>(random()) : alphabet[random() % alphabet.size()];
    }
    for (const DemuxSpec& spec : {json_spec(), ndjson_spec(), id_spec(), json_spec({"results"}),
                                  id_spec(ResponseFormat::ndjson)}) {
      const DemuxResult result = demux(spec, bytes, 2, ids);
      if (result.error.empty()) {
        ASSERT_EQ(result.items.size(), 2u) << bytes;
      } else {
        ASSERT_TRUE(result.items.empty()) << bytes;
        ++errors;
      }
    }
  }
  EXPECT_GT(errors, 9000u);
}

TEST(DemuxRoundTrip, AnEchoedPayloadComesBackAsItsItems) {
  const std::vector<std::string_view> items = {R"({"id":1,"x":"a b"})", "2", R"("caf\u00e9")",
                                               R"([1,{"y":null}])", "1.50"};
  PayloadSpec array;
  EXPECT_EQ(bodies(demux(json_spec(), build_payload(array, items), items.size())),
            std::vector<std::string>(items.begin(), items.end()));

  PayloadSpec wrapped;
  wrapped.format = PayloadFormat::wrapped;
  wrapped.wrap_path = {"data", "requests"};
  EXPECT_EQ(
      bodies(demux(json_spec(wrapped.wrap_path), build_payload(wrapped, items), items.size())),
      std::vector<std::string>(items.begin(), items.end()));

  PayloadSpec ndjson;
  ndjson.format = PayloadFormat::ndjson;
  const std::string pretty = "{\n  \"id\": 3,\n  \"z\": [1, 2]\n}";
  const std::string one_line = minify_item(pretty);
  std::vector<std::string_view> lines = items;
  lines.push_back(one_line);
  const DemuxResult result = demux(ndjson_spec(), build_payload(ndjson, lines), lines.size());
  ASSERT_EQ(result.error, "");
  EXPECT_EQ(result.items.back().body, R"({"id":3,"z":[1,2]})");
  EXPECT_EQ(result.items.front().body, items.front());
}

}  // namespace
}  // namespace levee::layers::batch
