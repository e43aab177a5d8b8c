#include "bench/request_builder.hpp"

#include <charconv>
#include <utility>

namespace levee::bench {
namespace {

void append_number(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto result = std::to_chars(std::begin(digits), std::end(digits), value);
  out.append(digits, result.ptr);
}

bool method_has_body(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

}  // namespace

std::optional<std::string> unknown_placeholder(std::string_view text) {
  for (std::size_t open = text.find('{'); open != std::string_view::npos;
       open = text.find('{', open + 1)) {
    const std::size_t close = text.find('}', open);
    if (close == std::string_view::npos) return std::nullopt;  // a lone brace is literal
    const std::string_view name = text.substr(open + 1, close - open - 1);
    if (name.empty() || name.find_first_of("{\":, ") != std::string_view::npos) continue;
    if (name != "key" && name != "seq" && name != "user") return std::string(name);
  }
  return std::nullopt;
}

RequestBuilder::Template RequestBuilder::parse(std::string_view text) {
  Template pieces;
  auto add_text = [&pieces](std::string_view literal) {
    if (literal.empty()) return;
    if (!pieces.empty() && pieces.back().kind == Piece::Kind::text) {
      pieces.back().text += literal;
    } else {
      pieces.push_back({Piece::Kind::text, std::string(literal)});
    }
  };
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t open = text.find('{', at);
    if (open == std::string_view::npos) break;
    add_text(text.substr(at, open - at));
    const std::string_view rest = text.substr(open);
    if (rest.starts_with("{key}")) {
      pieces.push_back({Piece::Kind::key, {}});
    } else if (rest.starts_with("{seq}")) {
      pieces.push_back({Piece::Kind::seq, {}});
    } else if (rest.starts_with("{user}")) {
      pieces.push_back({Piece::Kind::user, {}});
    } else {
      add_text("{");
      at = open + 1;
      continue;
    }
    at = text.find('}', open) + 1;
  }
  add_text(text.substr(std::min(at, text.size())));
  return pieces;
}

void RequestBuilder::expand(const Template& pieces, const Values& values, std::string& out) {
  for (const Piece& piece : pieces) {
    switch (piece.kind) {
      case Piece::Kind::text:
        out += piece.text;
        break;
      case Piece::Kind::key:
        append_number(out, values.key);
        break;
      case Piece::Kind::seq:
        append_number(out, values.seq);
        break;
      case Piece::Kind::user:
        append_number(out, values.user);
        break;
    }
  }
}

RequestBuilder::RequestBuilder(const RequestTemplate& request, std::string host)
    : method_(request.method),
      host_(std::move(host)),
      path_(parse(request.path)),
      query_(parse(request.query)),
      body_(parse(request.body.empty() ? std::string_view("{\"id\":{seq}}") : request.body)),
      has_body_(method_has_body(request.method)),
      users_(request.users),
      authorization_(parse(request.authorization)) {
  for (const auto& [name, value] : request.headers) headers_.emplace_back(name, parse(value));
}

void RequestBuilder::build(std::uint64_t seq, std::uint64_t key, PreparedRequest& out) const {
  const Values values{seq, key, users_ == 0 ? 0 : seq % users_};
  Expectation& expect = out.expect;
  expect.path.clear();
  expect.query.clear();
  expect.id.clear();
  expand(path_, values, expect.path);
  expand(query_, values, expect.query);
  append_number(expect.id, seq);
  if (users_ != 0) {
    std::string authorization;
    expand(authorization_, values, authorization);
    expect.authorization = std::move(authorization);
  } else {
    expect.authorization.reset();
  }

  std::string& wire = out.wire;
  wire.clear();
  wire += method_;
  wire += ' ';
  wire += expect.path;
  if (!expect.query.empty()) {
    wire += '?';
    wire += expect.query;
  }
  wire += " HTTP/1.1\r\nHost: ";
  wire += host_;
  wire += "\r\n";
  if (expect.authorization) {
    wire += "Authorization: ";
    wire += *expect.authorization;
    wire += "\r\n";
  }
  for (const auto& [name, value] : headers_) {
    wire += name;
    wire += ": ";
    expand(value, values, wire);
    wire += "\r\n";
  }
  if (!has_body_) {
    wire += "\r\n";
    return;
  }
  std::string body;
  expand(body_, values, body);
  wire += "Content-Type: application/json\r\nContent-Length: ";
  append_number(wire, body.size());
  wire += "\r\n\r\n";
  wire += body;
}

}  // namespace levee::bench
