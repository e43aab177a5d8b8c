#include "bench/verifier.hpp"

#include <simdjson.h>

#include <optional>

namespace levee::bench {
namespace {

namespace ondemand = simdjson::ondemand;

std::string quoted(std::string_view text) {
  constexpr std::size_t k_max_shown = 120;
  std::string out = "\"";
  out += text.substr(0, k_max_shown);
  if (text.size() > k_max_shown) out += "...";
  out += '"';
  return out;
}

VerifyResult differs(std::string_view what, std::string_view expected, std::string_view got) {
  return {Verdict::mismatch,
          std::string(what) + ": expected " + quoted(expected) + ", got " + quoted(got)};
}

// A string field, or nullopt for JSON null; an error for a missing field or another type.
simdjson::simdjson_result<std::optional<std::string_view>> nullable_string(ondemand::object& object,
                                                                           std::string_view name) {
  ondemand::value value;
  if (auto error = object.find_field_unordered(name).get(value)) return error;
  bool is_null = false;
  if (auto error = value.is_null().get(is_null)) return error;
  if (is_null) return std::optional<std::string_view>{};
  std::string_view text;
  if (auto error = value.get_string().get(text)) return error;
  return std::optional<std::string_view>{text};
}

}  // namespace

struct Verifier::Parser {
  ondemand::parser parser;
  simdjson::padded_string buffer;
};

Verifier::Verifier(Verification mode) : mode_(mode), parser_(std::make_unique<Parser>()) {}
Verifier::~Verifier() = default;

VerifyResult Verifier::check(const Expectation& expect, int status, std::string_view body) {
  if (mode_ == Verification::none) return {};
  if (status < 200 || status > 299) return {Verdict::bad_status, {}};
  if (mode_ == Verification::status) return {};

  if (parser_->buffer.size() < body.size()) {
    parser_->buffer = simdjson::padded_string(body.size() * 2);
  }
  // The padded buffer is reused; only its first body.size() bytes are handed to the parser.
  std::copy(body.begin(), body.end(), parser_->buffer.data());
  ondemand::document document;
  ondemand::object object;
  if (parser_->parser
              .iterate(parser_->buffer.data(), body.size(),
                       parser_->buffer.size() + simdjson::SIMDJSON_PADDING)
              .get(document) != simdjson::SUCCESS ||
      document.get_object().get(object) != simdjson::SUCCESS) {
    return differs("body is not a JSON object", "{...}", body);
  }

  if (mode_ == Verification::id) {
    ondemand::value id;
    if (object.find_field_unordered("id").get(id) != simdjson::SUCCESS) {
      return differs("id", expect.id, "(no id field)");
    }
    std::string_view token = id.raw_json_token();
    while (!token.empty() && (token.back() == ' ' || token.back() == '\n')) token.remove_suffix(1);
    if (token.size() >= 2 && token.front() == '"' && token.back() == '"') {
      token = token.substr(1, token.size() - 2);
    }
    if (token != expect.id) return differs("id", expect.id, token);
    return {};
  }

  // echo: fields in the order levee-upstream writes them, looked up unordered all the same.
  std::string_view path;
  if (object.find_field_unordered("path").get_string().get(path) != simdjson::SUCCESS) {
    return differs("path", expect.path, "(no path field)");
  }
  if (path != expect.path) return differs("path", expect.path, path);
  std::string_view query;
  if (object.find_field_unordered("query").get_string().get(query) != simdjson::SUCCESS) {
    return differs("query", expect.query, "(no query field)");
  }
  if (query != expect.query) return differs("query", expect.query, query);
  std::optional<std::string_view> authorization;
  if (nullable_string(object, "authorization").get(authorization) != simdjson::SUCCESS) {
    return differs("authorization", expect.authorization.value_or("null"),
                   "(no authorization field)");
  }
  const std::string_view expected_authorization =
      expect.authorization ? std::string_view(*expect.authorization) : std::string_view("null");
  const std::string_view got_authorization = authorization ? *authorization : "null";
  if (authorization.has_value() != expect.authorization.has_value() ||
      got_authorization != expected_authorization) {
    return differs("authorization", expected_authorization, got_authorization);
  }
  return {};
}

}  // namespace levee::bench
