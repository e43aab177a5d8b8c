// The gRPC peers of issue 20 against each other, no levee in between: grpc_client.py calls
// grpc_peer.py directly. This proves what the through-levee tests rely on: calls are counted
// one by one, every caller gets an answer that names its request, call and authorization,
// error statuses and trailers arrive, a server stream delivers its messages, calls held by
// x-await-in-flight really overlap, and the peer also serves h2 over TLS.

#include <gtest/gtest.h>
#include <simdjson.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>

#include "support/grpc_peers.hpp"
#include "support/polling.hpp"
#include "support/process.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;

class GrpcPeers : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { peer_ = new GrpcPeer(); }
  static void TearDownTestSuite() {
    delete peer_;
    peer_ = nullptr;
  }
  void SetUp() override { peer_->reset(); }

  static GrpcClientOptions unary(int calls) {
    GrpcClientOptions options;
    options.target = peer_->address();
    options.calls = calls;
    return options;
  }

  static GrpcPeer* peer_;
};
GrpcPeer* GrpcPeers::peer_ = nullptr;

// Every call carries its number twice (body and x-call); both must agree.
std::string call_number(const GrpcCallResult& call) {
  const auto at = call.body.value_or("").rfind("|call=");
  return at == std::string::npos ? std::string() : call.body->substr(at + 6);
}

TEST_F(GrpcPeers, IdenticalCallsAreEachServedAndCounted) {
  auto options = unary(20);
  options.authorization = "Bearer same";
  const auto report = run_grpc_client(options);

  ASSERT_EQ(report.calls.size(), 20u) << report.json;
  EXPECT_EQ(report.ok, 20u) << report.json;
  std::set<std::string> numbers;
  for (const auto& call : report.calls) {
    ASSERT_EQ(call.code, "OK") << call.details;
    const std::string number = call_number(call);
    EXPECT_EQ(call.body, "req|Bearer same|call=" + number);
    EXPECT_EQ(call.initial("x-call"), number);
    EXPECT_EQ(call.trailing("x-served-by"), "grpc_peer");
    numbers.insert(number);
  }
  EXPECT_EQ(numbers.size(), 20u) << "each call is its own call at the server";

  const auto stats = peer_->stats();
  EXPECT_EQ(stats.unary_calls, 20u);
  EXPECT_EQ(stats.by_method.at(std::string(grpc_unary_method)), 20u);
  EXPECT_EQ(stats.authorizations.at("Bearer same"), 20u);
  EXPECT_EQ(stats.failed_calls, 0u);
}

TEST_F(GrpcPeers, DistinctCallsGetTheirOwnAnswers) {
  auto options = unary(20);
  options.distinct_requests = true;
  options.authorization_per_call = true;
  const auto report = run_grpc_client(options);

  ASSERT_EQ(report.calls.size(), 20u) << report.json;
  EXPECT_EQ(report.ok, 20u) << report.json;
  for (const auto& call : report.calls) {
    const std::string i = std::to_string(call.index);
    ASSERT_EQ(call.code, "OK") << call.details;
    EXPECT_EQ(call.body, "req-" + i + "|Bearer token-" + i + "|call=" + call_number(call));
  }

  const auto stats = peer_->stats();
  EXPECT_EQ(stats.unary_calls, 20u);
  EXPECT_EQ(stats.authorizations.size(), 20u);
}

TEST_F(GrpcPeers, ErrorStatusMessageAndTrailersArriveIntact) {
  auto options = unary(1);
  // '%' and non-ASCII are percent-encoded in grpc-message on the wire: they must come back.
  options.metadata = {{"x-fail-code", "NOT_FOUND"}, {"x-fail-message-bin", "no such echo: 50% ü"}};
  const auto report = run_grpc_client(options);

  ASSERT_EQ(report.calls.size(), 1u) << report.json;
  const auto& call = report.calls[0];
  EXPECT_EQ(call.code, "NOT_FOUND") << report.json;
  EXPECT_EQ(call.details, "no such echo: 50% ü");
  EXPECT_EQ(call.initial("x-call"), "1");
  EXPECT_EQ(call.trailing("x-detail"), "failed-call-1");
  EXPECT_EQ(call.trailing("x-served-by"), "grpc_peer");
  EXPECT_EQ(report.errors.at("NOT_FOUND"), 1u);
  EXPECT_EQ(peer_->stats().failed_calls, 1u);
}

TEST_F(GrpcPeers, TrailersOnlyErrorCarriesItsMetadataInTheTrailers) {
  auto options = unary(1);
  options.metadata = {
      {"x-fail-code", "7"}, {"x-fail-message", "not yours"}, {"x-trailers-only", "1"}};
  const auto report = run_grpc_client(options);

  ASSERT_EQ(report.calls.size(), 1u) << report.json;
  const auto& call = report.calls[0];
  EXPECT_EQ(call.code, "PERMISSION_DENIED") << report.json;
  EXPECT_EQ(call.details, "not yours");
  EXPECT_TRUE(call.initial_metadata.empty()) << report.json;
  EXPECT_EQ(call.trailing("x-detail"), "failed-call-1");
}

TEST_F(GrpcPeers, ServerStreamDeliversEveryMessageThenOk) {
  auto options = unary(1);
  options.method = grpc_server_stream_method;
  options.stream = true;
  options.metadata = {{"x-count", "5"}};
  const auto report = run_grpc_client(options);

  ASSERT_EQ(report.calls.size(), 1u) << report.json;
  const auto& call = report.calls[0];
  EXPECT_EQ(call.code, "OK") << report.json;
  ASSERT_EQ(call.messages.size(), 5u) << report.json;
  for (std::size_t i = 0; i < call.messages.size(); ++i) {
    EXPECT_EQ(call.messages[i], "req|msg=" + std::to_string(i + 1) + "/5|call=1");
  }
  EXPECT_EQ(call.trailing("x-messages"), "5");
  EXPECT_EQ(call.trailing("x-served-by"), "grpc_peer");
  const auto stats = peer_->stats();
  EXPECT_EQ(stats.stream_calls, 1u);
  EXPECT_EQ(stats.unary_calls, 0u);
}

// x-await-in-flight holds each call until 200 are in flight at once: the peer's thread pool,
// the client's concurrency and HTTP/2 multiplexing must all allow 200 concurrent calls.
TEST_F(GrpcPeers, TwoHundredHeldCallsOverlapOverFourConnections) {
  auto options = unary(200);
  options.channels = 4;
  options.timeout = 30s;
  options.metadata = {{"x-await-in-flight", "200"}, {"x-await-timeout-ms", "20000"}};
  const auto report = run_grpc_client(options);

  ASSERT_EQ(report.calls.size(), 200u) << report.json;
  EXPECT_EQ(report.ok, 200u) << report.json.substr(0, 4096);
  for (const auto& call : report.calls) EXPECT_EQ(call.trailing("x-await-met"), "1");
  const auto stats = peer_->stats();
  EXPECT_EQ(stats.max_in_flight, 200u);
  EXPECT_EQ(stats.by_peer.size(), 4u) << "one connection per channel";
}

TEST_F(GrpcPeers, StatsRpcAgreesWithTheSidePort) {
  ASSERT_EQ(run_grpc_client(unary(3)).ok, 3u);
  auto options = unary(1);
  options.method = grpc_stats_method;
  const auto report = run_grpc_client(options);

  ASSERT_EQ(report.calls.size(), 1u) << report.json;
  ASSERT_EQ(report.calls[0].code, "OK") << report.json;
  simdjson::dom::parser parser;
  std::uint64_t unary_calls = 0;
  ASSERT_EQ(parser.parse(report.calls[0].body.value_or(""))["unary_calls"].get(unary_calls),
            simdjson::SUCCESS)
      << report.json;
  EXPECT_EQ(unary_calls, 3u);
  EXPECT_EQ(peer_->stats().unary_calls, 3u);
}

TEST_F(GrpcPeers, DeadlineEndsAHeldCallAtBothEnds) {
  auto options = unary(1);
  options.timeout = 300ms;
  options.metadata = {{"x-delay-ms", "60000"}};
  const auto report = run_grpc_client(options);

  ASSERT_EQ(report.calls.size(), 1u) << report.json;
  EXPECT_EQ(report.calls[0].code, "DEADLINE_EXCEEDED") << report.json;
  EXPECT_TRUE(eventually([] { return peer_->stats().cancelled_calls == 1; }, 10s))
      << "the server saw the call end and stopped holding it";
}

// A self-signed certificate for "peer.test" in a fresh directory, made by the openssl tool.
struct TestCertificate {
  TestCertificate() {
    std::string pattern = (std::filesystem::temp_directory_path() / "grpc_peer_tls.XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = pattern;
    cert = (dir / "cert.pem").string();
    key = (dir / "key.pem").string();
    Process openssl("/usr/bin/openssl",
                    {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=peer.test",
                     "-addext", "subjectAltName=DNS:peer.test"});
    if (openssl.wait_exit(30s) != 0) {
      throw std::runtime_error("openssl req failed: " + openssl.stderr_text());
    }
  }
  ~TestCertificate() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  TestCertificate(const TestCertificate&) = delete;
  TestCertificate& operator=(const TestCertificate&) = delete;

  std::filesystem::path dir;
  std::string cert;
  std::string key;
};

TEST(GrpcPeerTls, ServesH2OverTlsToAClientThatVerifiesIt) {
  const TestCertificate certificate;
  GrpcPeerOptions tls;
  tls.tls_cert = certificate.cert;
  tls.tls_key = certificate.key;
  GrpcPeer peer(tls);

  GrpcClientOptions options;
  options.target = peer.address();
  options.calls = 2;
  options.tls_ca = certificate.cert;
  options.server_name = "peer.test";
  const auto report = run_grpc_client(options);
  EXPECT_EQ(report.ok, 2u) << report.json;
  EXPECT_EQ(peer.stats().unary_calls, 2u);

  options.tls_ca.clear();
  options.server_name.clear();
  options.timeout = 2s;
  const auto cleartext = run_grpc_client(options);
  EXPECT_EQ(cleartext.ok, 0u) << "h2c to a TLS port must fail: " << cleartext.json;
  EXPECT_EQ(peer.stats().unary_calls, 2u);
}

}  // namespace
}  // namespace levee::testing
