#include "layers/batch/payload.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace levee::layers::batch {
namespace {

constexpr std::string_view k_not_json = "request body is not JSON: ";

std::string build(PayloadFormat format, const std::vector<std::string_view>& items,
                  std::vector<std::string> wrap_path = {}) {
  PayloadSpec spec;
  spec.format = format;
  spec.wrap_path = std::move(wrap_path);
  return build_payload(spec, items);
}

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(PayloadBuild, JsonArraySplicesItemsByteForByte) {
  EXPECT_EQ(build(PayloadFormat::json_array, {R"({"id": 1 })", "2", R"("caf\u00e9")", "1.50"}),
            R"([{"id": 1 },2,"caf\u00e9",1.50])");
  EXPECT_EQ(build(PayloadFormat::json_array, {"{}"}), "[{}]");
  EXPECT_EQ(build(PayloadFormat::json_array, {}), "[]");
}

TEST(PayloadBuild, NdjsonEndsEveryItemWithANewline) {
  EXPECT_EQ(build(PayloadFormat::ndjson, {R"({"id":1})", R"({"id": 2})"}),
            "{\"id\":1}\n{\"id\": 2}\n");
  EXPECT_EQ(build(PayloadFormat::ndjson, {"7"}), "7\n");
  EXPECT_EQ(build(PayloadFormat::ndjson, {}), "");
}

TEST(PayloadBuild, WrappedNestsTheArrayAtThePath) {
  EXPECT_EQ(build(PayloadFormat::wrapped, {"1", "2"}, {"requests"}), R"({"requests":[1,2]})");
  EXPECT_EQ(build(PayloadFormat::wrapped, {R"({"id":1})"}, {"data", "requests"}),
            R"({"data":{"requests":[{"id":1}]}})");
  EXPECT_EQ(build(PayloadFormat::wrapped, {}, {"requests"}), R"({"requests":[]})");
  // Keys are written as JSON strings, escapes and all.
  EXPECT_EQ(build(PayloadFormat::wrapped, {"1"}, {"a\"b"}), R"({"a\"b":[1]})");
  // No path: a plain array.
  EXPECT_EQ(build(PayloadFormat::wrapped, {"1"}), "[1]");
  // The path only counts for the wrapped format.
  EXPECT_EQ(build(PayloadFormat::json_array, {"1"}, {"requests"}), "[1]");
}

TEST(PayloadBuild, ContentTypeFollowsTheFormat) {
  EXPECT_EQ(payload_content_type(PayloadFormat::json_array), "application/json");
  EXPECT_EQ(payload_content_type(PayloadFormat::wrapped), "application/json");
  EXPECT_EQ(payload_content_type(PayloadFormat::ndjson), "application/x-ndjson");
}

TEST(PayloadCheckItem, AcceptsAnyJsonValue) {
  for (const std::string_view item :
       {R"({"id":1})", "[1,2]", "42", "-1.5e3", R"("text")", "null", "true", " \n{ }\t\r\n",
        R"({"id":"caf\u00e9","nested":{"a":[1,{"b":null}]}})"}) {
    EXPECT_EQ(check_item(item), "") << item;
  }
}

TEST(PayloadCheckItem, RejectsWhatIsNotOneJsonValue) {
  EXPECT_EQ(check_item(""), "request body is empty (expected JSON)");
  EXPECT_EQ(check_item(" \r\n\t"), "request body is empty (expected JSON)");
  for (const std::string_view item :
       {"{", "[1,]", R"({"id":1} {"id":2})", "[1] x", "nul", R"({"a" 1})", "'single'",
        "\"\xff\xfe\"", "\"a\nb\"", "1e400", "123456789012345678901234567890"}) {
    const std::string error = check_item(item);
    EXPECT_TRUE(error.starts_with(k_not_json)) << item << " -> " << error;
    EXPECT_GT(error.size(), k_not_json.size()) << "the message says why";
  }
}

TEST(PayloadCheckItem, SurvivesHostileInput) {
  EXPECT_TRUE(check_item(nested(100000)).starts_with(k_not_json));
  EXPECT_TRUE(check_item(std::string(100000, '[')).starts_with(k_not_json));
  const std::string big = "\"" + std::string(1024 * 1024, 'x') + "\"";
  EXPECT_EQ(check_item(big), "");
  EXPECT_TRUE(check_item(big.substr(0, big.size() - 1)).starts_with(k_not_json));

  std::mt19937 random(7);
  std::size_t rejected = 0;
  for (int round = 0; round < 500; ++round) {
    std::string bytes(random() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    if (!check_item(bytes).empty()) ++rejected;
  }
  EXPECT_GT(rejected, 450u);  // random bytes are almost never JSON
}

TEST(PayloadMinifyItem, PutsAnItemOnOneLine) {
  EXPECT_EQ(minify_item("{\n  \"id\": 1,\r\n  \"tags\": [ \"a b\", \"c\\nd\" ]\n}\n"),
            R"({"id":1,"tags":["a b","c\nd"]})");
  EXPECT_EQ(minify_item(R"({"id":1})"), R"({"id":1})");
  EXPECT_EQ(minify_item(" 1.50 "), "1.50");
  EXPECT_EQ(minify_item(""), "");
}

TEST(PayloadMinifyItem, NeverLeavesANewlineEvenInInvalidInput) {
  for (const std::string_view item : {"\"a\nb\"", "{\"unterminated\n", "\n\n\r\n", "[1,\n"}) {
    const std::string minified = minify_item(item);
    EXPECT_EQ(minified.find_first_of("\r\n"), std::string::npos) << item;
  }
  std::mt19937 random(11);
  for (int round = 0; round < 500; ++round) {
    std::string bytes(random() % 200, '\0');
    for (char& c : bytes) c = static_cast<char>(random() % 4 == 0 ? '\n' : random());
    ASSERT_EQ(minify_item(bytes).find_first_of("\r\n"), std::string::npos);
  }
}

TEST(PayloadItemId, IsTheRawTextOfTheField) {
  EXPECT_EQ(item_id(R"({"id":7})", "id").id, "7");
  EXPECT_EQ(item_id(R"({"id" :  "seven"  , "x": 1})", "id").id, R"("seven")");
  EXPECT_EQ(item_id(R"({"x":{"id":1},"id":1.50})", "id").id, "1.50");
  EXPECT_EQ(item_id(R"({"id":-7e2})", "id").id, "-7e2");
  EXPECT_EQ(item_id(R"({"id":"caf\u00e9"})", "id").id, R"("caf\u00e9")");
  EXPECT_EQ(item_id(R"({"key":"k1","id":2})", "key").id, R"("k1")");
  const ItemId ok = item_id(" {\"id\":\n3\n} ", "id");
  EXPECT_EQ(ok.id, "3");
  EXPECT_EQ(ok.error, "");
}

TEST(PayloadItemId, DistinguishesSpellings) {
  EXPECT_NE(item_id(R"({"id":1})", "id").id, item_id(R"({"id":"1"})", "id").id);
  EXPECT_NE(item_id(R"({"id":1})", "id").id, item_id(R"({"id":1.0})", "id").id);
  EXPECT_NE(item_id(R"({"id":"\u0061"})", "id").id, item_id(R"({"id":"a"})", "id").id);
}

TEST(PayloadItemId, SaysWhyThereIsNoId) {
  EXPECT_EQ(item_id(R"({"name":"x"})", "id").error, R"(request body has no "id")");
  EXPECT_EQ(item_id(R"({"x":{"id":1}})", "id").error, R"(request body has no "id")");
  // Keys are matched by their raw text.
  EXPECT_EQ(item_id(R"({"\u0069d":1})", "id").error, R"(request body has no "id")");
  EXPECT_EQ(item_id("[1]", "id").error, R"(request body is not a JSON object, so it has no "id")");
  EXPECT_EQ(item_id("42", "id").error, R"(request body is not a JSON object, so it has no "id")");
  for (const std::string_view item :
       {R"({"id":null})", R"({"id":true})", R"({"id":{"a":1}})", R"({"id":[1]})"}) {
    const ItemId bad = item_id(item, "id");
    EXPECT_EQ(bad.error, R"(request body's "id" is not a string or a number)") << item;
    EXPECT_EQ(bad.id, "") << item;
  }
  EXPECT_TRUE(item_id("", "id").error.starts_with(k_not_json));
}

TEST(PayloadItemId, SurvivesHostileInput) {
  EXPECT_FALSE(item_id(nested(100000), "id").error.empty());
  EXPECT_FALSE(item_id(std::string(100000, '{'), "id").error.empty());
  const std::string big_id = "\"" + std::string(1024 * 1024, 'x') + "\"";
  EXPECT_EQ(item_id("{\"id\":" + big_id + "}", "id").id, big_id);
  std::mt19937 random(13);
  for (int round = 0; round < 500; ++round) {
    std::string bytes = R"({"id":)";
    for (std::size_t i = random() % 32; i > 0; --i) bytes += static_cast<char>(random());
    const ItemId id = item_id(bytes, "id");
    ASSERT_NE(id.id.empty(), id.error.empty()) << "exactly one of id and error";
  }
}

}  // namespace
}  // namespace levee::layers::batch
