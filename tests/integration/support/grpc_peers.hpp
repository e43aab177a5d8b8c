#pragma once
// Real gRPC peers for integration tests, both grpcio (Debian's python3-grpcio), so that HTTP/2
// framing, gRPC framing, trailers and status codes come from a stack nobody here wrote:
//
// GrpcPeer runs tests/peers/grpc_peer.py, a gRPC server for levee.test.Echo (Unary,
// ServerStream, Stats; see the script's docstring for the metadata that steers a call) on
// 127.0.0.1:0, h2c or h2 over TLS. The constructor waits for its ready line (bounded) and
// throws std::runtime_error if it does not come. Its counters are read over its plain HTTP
// side port with the test HTTP client, so a test needs no gRPC to check what reached it.
//
// run_grpc_client() runs tests/peers/grpc_client.py to completion (bounded) and returns every
// call's status, body and metadata. gRPC errors are data in the report; only the client's own
// failure (bad arguments, no JSON, no exit in time) throws std::runtime_error.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace levee::testing {

inline constexpr std::string_view grpc_unary_method = "/levee.test.Echo/Unary";
inline constexpr std::string_view grpc_server_stream_method = "/levee.test.Echo/ServerStream";
inline constexpr std::string_view grpc_stats_method = "/levee.test.Echo/Stats";
inline constexpr std::string_view grpc_chat_method = "/levee.test.Echo/Chat";

// GET /stats of grpc_peer.py, parsed.
struct GrpcPeerStats {
  std::uint64_t unary_calls = 0;   // /levee.test.Echo/Unary
  std::uint64_t stream_calls = 0;  // /levee.test.Echo/ServerStream
  std::uint64_t failed_calls = 0;  // answered with the x-fail-code status
  std::uint64_t cancelled_calls = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t max_in_flight = 0;
  std::map<std::string, std::uint64_t, std::less<>> by_method;       // every RPC path, Stats too
  std::map<std::string, std::uint64_t, std::less<>> by_peer;         // one key per connection
  std::map<std::string, std::uint64_t, std::less<>> authorizations;  // Unary calls per value
};

struct GrpcPeerOptions {
  std::string tls_cert;  // with tls_key: serve h2 over TLS instead of h2c
  std::string tls_key;
  std::string tls_client_ca;       // require client certificates signed by this CA
  int max_concurrent_streams = 0;  // 0: grpcio's default
};

struct GrpcPeer {
  explicit GrpcPeer(const GrpcPeerOptions& options = {});

  // "127.0.0.1:PORT" of the gRPC port, for a levee config's upstream or a client's target.
  [[nodiscard]] std::string address() const;
  [[nodiscard]] GrpcPeerStats stats() const;  // throws std::runtime_error on failure
  void reset() const;                         // POST /reset; throws unless it answers 204
  // POST /release/NAME: a ServerStream call held by x-hold-name NAME goes on.
  void release(std::string_view name) const;

  Process process;
  std::uint16_t grpc_port = 0;
  std::uint16_t stats_port = 0;
};

// What grpc_client.py is asked to do; the fields map one to one onto its options.
struct GrpcClientOptions {
  std::string target;  // "127.0.0.1:PORT"
  std::string method{grpc_unary_method};
  int calls = 1;
  int concurrency = 0;             // 0: all calls at once
  bool distinct_requests = false;  // request + "-INDEX" per call; else the same bytes each time
  std::string request = "req";
  std::optional<std::string> authorization;  // the same authorization on every call
  bool authorization_per_call = false;       // "Bearer token-INDEX"
  std::vector<std::pair<std::string, std::string>> metadata;
  std::chrono::milliseconds timeout{10000};  // each call's deadline, and the run's bound
  bool stream = false;                       // a server-streaming method
  int chat = 0;  // > 0: a bidirectional method, that many messages, each after the last answer
  int channels = 1;
  std::string tls_ca;  // non-empty: h2 over TLS, verified against this CA
  std::string server_name;
  std::vector<std::string> extra_args;  // appended as they are
};

struct GrpcCallResult {
  std::size_t index = 0;
  std::string code;  // grpc.StatusCode name: "OK", "NOT_FOUND", ...
  std::string details;
  std::optional<std::string> body;    // the response message (unary, when the call was OK)
  std::vector<std::string> messages;  // the messages of a server-streaming call, in order
  HeaderList initial_metadata;
  HeaderList trailing_metadata;
  double latency_ms = 0;

  // The first value of that metadata key, if any.
  [[nodiscard]] std::optional<std::string> initial(std::string_view key) const;
  [[nodiscard]] std::optional<std::string> trailing(std::string_view key) const;
};

struct GrpcClientReport {
  std::vector<GrpcCallResult> calls;  // by index
  std::uint64_t ok = 0;
  std::map<std::string, std::uint64_t, std::less<>> errors;  // code name -> calls
  double p50_ms = 0;
  double p99_ms = 0;
  std::string json;  // the client's whole output, for messages
};

// Runs grpc_client.py until it exits, bounded by options.timeout plus a margin for start-up.
[[nodiscard]] GrpcClientReport run_grpc_client(const GrpcClientOptions& options);

}  // namespace levee::testing
