#include "support/grpc_peers.hpp"

#include <simdjson.h>

#include <stdexcept>

namespace levee::testing {
namespace {

constexpr auto ready_timeout = std::chrono::seconds(15);
// Python and grpcio start-up, and the client's bounded wait for its channels, on top of the
// calls' own deadline (see grpc_client.py: CONNECT_MS and COLLECT_MARGIN_S).
constexpr auto client_margin = std::chrono::seconds(40);

std::uint16_t port_field(const std::string& line, std::string_view key) {
  const auto at = line.find(key);
  if (at == std::string::npos) throw std::runtime_error("no " + std::string(key) + " in: " + line);
  return static_cast<std::uint16_t>(std::stoul(line.substr(at + key.size())));
}

std::vector<std::string> peer_args(const GrpcPeerOptions& options) {
  std::vector<std::string> args{source_path("tests/peers/grpc_peer.py")};
  if (!options.tls_cert.empty()) {
    args.insert(args.end(), {"--tls-cert", options.tls_cert, "--tls-key", options.tls_key});
  }
  if (!options.tls_client_ca.empty())
    args.insert(args.end(), {"--tls-client-ca", options.tls_client_ca});
  if (options.max_concurrent_streams > 0) {
    args.insert(args.end(),
                {"--max-concurrent-streams", std::to_string(options.max_concurrent_streams)});
  }
  return args;
}

std::vector<std::string> client_args(const GrpcClientOptions& options) {
  std::vector<std::string> args{source_path("tests/peers/grpc_client.py"),
                                "--target",
                                options.target,
                                "--method",
                                options.method,
                                "--calls",
                                std::to_string(options.calls),
                                "--concurrency",
                                std::to_string(options.concurrency),
                                "--request",
                                options.request,
                                "--timeout-ms",
                                std::to_string(options.timeout.count()),
                                "--channels",
                                std::to_string(options.channels)};
  args.emplace_back(options.distinct_requests ? "--distinct-requests" : "--same-request");
  if (options.authorization_per_call) args.emplace_back("--authorization-per-call");
  if (options.authorization) args.insert(args.end(), {"--authorization", *options.authorization});
  for (const auto& [key, value] : options.metadata) {
    args.insert(args.end(), {"--metadata", key + "=" + value});
  }
  if (options.stream) args.emplace_back("--stream");
  if (options.chat > 0) args.insert(args.end(), {"--chat", std::to_string(options.chat)});
  if (!options.tls_ca.empty()) args.insert(args.end(), {"--tls-ca", options.tls_ca});
  if (!options.server_name.empty()) args.insert(args.end(), {"--server-name", options.server_name});
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  return args;
}

// RFC 4648 base64 as Python's base64.b64encode writes it (padded, no line breaks).
std::string decode_base64(std::string_view text) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    if (c == '=') break;
    const auto value = alphabet.find(c);
    if (value == std::string_view::npos)
      throw std::runtime_error("not base64: " + std::string(text));
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      bytes.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return bytes;
}

std::string_view string_field(simdjson::dom::object object, std::string_view key) {
  std::string_view value;
  if (object[key].get(value) != simdjson::SUCCESS) {
    throw std::runtime_error("grpc_client.py: '" + std::string(key) + "' is not a string");
  }
  return value;
}

HeaderList metadata_field(simdjson::dom::object object, std::string_view key) {
  simdjson::dom::array pairs;
  if (object[key].get(pairs) != simdjson::SUCCESS) {
    throw std::runtime_error("grpc_client.py: '" + std::string(key) + "' is not a list");
  }
  HeaderList metadata;
  for (simdjson::dom::element pair : pairs) {
    std::string_view name;
    std::string_view value;
    if (pair.at(0).get(name) != simdjson::SUCCESS || pair.at(1).get(value) != simdjson::SUCCESS) {
      throw std::runtime_error("grpc_client.py: a '" + std::string(key) + "' entry is no pair");
    }
    metadata.emplace_back(name, value);
  }
  return metadata;
}

void read_counters(simdjson::dom::object object,
                   std::map<std::string, std::uint64_t, std::less<>>& into) {
  for (auto [key, value] : object) {
    std::uint64_t count = 0;
    if (value.get(count) != simdjson::SUCCESS) {
      throw std::runtime_error("grpc_peer /stats: '" + std::string(key) + "' is not a number");
    }
    into.emplace(std::string(key), count);
  }
}

GrpcCallResult call_result(simdjson::dom::object object) {
  GrpcCallResult call;
  std::uint64_t index = 0;
  if (object["index"].get(index) != simdjson::SUCCESS) {
    throw std::runtime_error("grpc_client.py: a call has no index");
  }
  call.index = index;
  call.code = string_field(object, "code");
  call.details = string_field(object, "details");
  std::string_view body;
  if (object["body_base64"].get(body) == simdjson::SUCCESS) call.body = decode_base64(body);
  simdjson::dom::array messages;
  if (object["messages_base64"].get(messages) == simdjson::SUCCESS) {
    for (simdjson::dom::element message : messages) {
      std::string_view text;
      if (message.get(text) != simdjson::SUCCESS) {
        throw std::runtime_error("grpc_client.py: a message is not a string");
      }
      call.messages.push_back(decode_base64(text));
    }
  }
  call.initial_metadata = metadata_field(object, "initial_metadata");
  call.trailing_metadata = metadata_field(object, "trailing_metadata");
  double latency = 0;
  if (object["latency_ms"].get(latency) == simdjson::SUCCESS) call.latency_ms = latency;
  return call;
}

std::optional<std::string> first_value(const HeaderList& metadata, std::string_view key) {
  for (const auto& [name, value] : metadata) {
    if (name == key) return value;
  }
  return std::nullopt;
}

}  // namespace

GrpcPeer::GrpcPeer(const GrpcPeerOptions& options)
    : process("/usr/bin/python3", peer_args(options)) {
  const std::string line = process.wait_for_line("grpc_peer ready", ready_timeout);
  grpc_port = port_field(line, "grpc_port=");
  stats_port = port_field(line, "stats_port=");
}

std::string GrpcPeer::address() const { return "127.0.0.1:" + std::to_string(grpc_port); }

GrpcPeerStats GrpcPeer::stats() const {
  const HttpResult result = http_get(stats_port, "/stats");
  if (!result.ok || result.status != 200) {
    throw std::runtime_error("grpc_peer GET /stats failed: " + describe(result) + "\n" +
                             process.stderr_text());
  }
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  if (parser.parse(result.body).get(root) != simdjson::SUCCESS) {
    throw std::runtime_error("grpc_peer /stats is not a JSON object: " + result.body);
  }
  GrpcPeerStats stats;
  simdjson::dom::object by_method;
  simdjson::dom::object by_peer;
  simdjson::dom::object authorizations;
  if (root["unary_calls"].get(stats.unary_calls) != simdjson::SUCCESS ||
      root["stream_calls"].get(stats.stream_calls) != simdjson::SUCCESS ||
      root["failed_calls"].get(stats.failed_calls) != simdjson::SUCCESS ||
      root["cancelled_calls"].get(stats.cancelled_calls) != simdjson::SUCCESS ||
      root["in_flight"].get(stats.in_flight) != simdjson::SUCCESS ||
      root["max_in_flight"].get(stats.max_in_flight) != simdjson::SUCCESS ||
      root["by_method"].get(by_method) != simdjson::SUCCESS ||
      root["by_peer"].get(by_peer) != simdjson::SUCCESS ||
      root["authorizations"].get(authorizations) != simdjson::SUCCESS) {
    throw std::runtime_error("grpc_peer /stats lacks a counter: " + result.body);
  }
  read_counters(by_method, stats.by_method);
  read_counters(by_peer, stats.by_peer);
  read_counters(authorizations, stats.authorizations);
  return stats;
}

void GrpcPeer::reset() const {
  const HttpResult result = http_post(stats_port, "/reset", "");
  if (!result.ok || result.status != 204) {
    throw std::runtime_error("grpc_peer POST /reset failed: " + describe(result));
  }
}

void GrpcPeer::release(std::string_view name) const {
  const HttpResult result = http_post(stats_port, "/release/" + std::string(name), "");
  if (!result.ok || result.status != 204) {
    throw std::runtime_error("grpc_peer POST /release failed: " + describe(result));
  }
}

std::optional<std::string> GrpcCallResult::initial(std::string_view key) const {
  return first_value(initial_metadata, key);
}

std::optional<std::string> GrpcCallResult::trailing(std::string_view key) const {
  return first_value(trailing_metadata, key);
}

GrpcClientReport run_grpc_client(const GrpcClientOptions& options) {
  Process client("/usr/bin/python3", client_args(options));
  const int exit_code = client.wait_exit(options.timeout + client_margin);
  if (exit_code != 0) {
    throw std::runtime_error("grpc_client.py exited with " + std::to_string(exit_code) + ":\n" +
                             client.stderr_text());
  }
  GrpcClientReport report;
  report.json = client.stdout_text();
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  simdjson::dom::array calls;
  simdjson::dom::object summary;
  if (parser.parse(report.json).get(root) != simdjson::SUCCESS ||
      root["calls"].get(calls) != simdjson::SUCCESS ||
      root["summary"].get(summary) != simdjson::SUCCESS) {
    throw std::runtime_error("grpc_client.py printed no report: " + report.json + "\n" +
                             client.stderr_text());
  }
  for (simdjson::dom::element call : calls) {
    simdjson::dom::object object;
    if (call.get(object) != simdjson::SUCCESS) {
      throw std::runtime_error("grpc_client.py: a call is not an object");
    }
    report.calls.push_back(call_result(object));
  }
  simdjson::dom::object errors;
  if (summary["ok"].get(report.ok) != simdjson::SUCCESS ||
      summary["errors"].get(errors) != simdjson::SUCCESS) {
    throw std::runtime_error("grpc_client.py: the summary lacks ok or errors: " + report.json);
  }
  for (auto [code, count] : errors) {
    std::uint64_t n = 0;
    if (count.get(n) != simdjson::SUCCESS) {
      throw std::runtime_error("grpc_client.py: an error count is not a number");
    }
    report.errors.emplace(std::string(code), n);
  }
  // null when no call has a latency (none ended): the zeros stay.
  [[maybe_unused]] const auto p50 = summary.at_pointer("/latency_ms/p50").get(report.p50_ms);
  [[maybe_unused]] const auto p99 = summary.at_pointer("/latency_ms/p99").get(report.p99_ms);
  return report;
}

}  // namespace levee::testing
