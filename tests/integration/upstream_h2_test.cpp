// Issue 20, upstream side: levee calls HTTP/2 upstreams (h2c with prior knowledge, h2 over
// TLS chosen by ALPN) and TLS upstreams, against real peers nobody here wrote: nghttpd
// (nghttp2-server) and `openssl s_server`. Certificates are made per test suite with the
// openssl CLI in a temporary directory. Downstream, the tests speak HTTP/1.1 to levee.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/nghttpd_peer.hpp"
#include "support/polling.hpp"
#include "upstream/h2_pool.hpp"

namespace levee::testing {
namespace {

using ::testing::HasSubstr;

constexpr std::size_t k_big_size = 2 * 1024 * 1024;  // beyond every flow-control window

std::string big_body() {
  std::string body(k_big_size, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  return body;
}

using SendResult = core::Result<core::Response, upstream::UpstreamError>;

// The frame holds only pointers to what the test keeps until the io_context has run. An answer
// that came streamed is read to its end here, its trailers included, so that the test sees
// the same whole answer either way.
boost::asio::awaitable<void> send_into(upstream::H2Pool* pool, core::Request* request,
                                       std::optional<SendResult>* out) {
  SendResult result = co_await pool->send(*request);
  if (result && result.value().stream) {
    core::Response& response = result.value();
    auto body = co_await core::read_all(*response.stream, std::size_t{64} << 20);
    if (body) {
      response.body = std::make_shared<const std::string>(std::move(body).value());
      response.trailers = response.stream->take_trailers();
    }
    response.stream.reset();
  }
  out->emplace(std::move(result));
}

// levee (one worker) with `upstreams` (TOML tables) and one pass route per upstream name,
// each under its own path prefix "/NAME/", whose prefix nghttpd sees too.
struct Levee {
  Levee(const std::string& upstreams, const std::vector<std::string>& names, TempDir& dir) {
    std::string routes;
    for (const auto& name : names) {
      routes += "[[routes]]\nname = \"" + name + "\"\npath_prefix = \"/" + name +
                "/\"\nupstream = \"" + name + "\"\n";
    }
    const std::string text =
        "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nworkers = 1\n" +
        upstreams + routes;
    process = std::make_unique<LeveeProcess>(write_file(dir.path() / "levee.toml", text));
  }
  [[nodiscard]] std::uint16_t port() const { return process->port; }
  [[nodiscard]] std::uint16_t admin_port() const { return process->admin_port; }
  std::unique_ptr<LeveeProcess> process;
};

class UpstreamH2 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    certificates_ = new TestCertificates(dir_->path().string());
    docroot_ = (dir_->path() / "www").string();
    for (const char* prefix : {"c", "s", "plain", "cert", "nocert", "wrongca", "ip"}) {
      std::filesystem::create_directories(dir_->path() / "www" / prefix);
      std::ofstream(dir_->path() / "www" / prefix / "index.txt") << "hello h2";
      std::ofstream(dir_->path() / "www" / prefix / "big.bin") << big_body();
    }
  }
  static void TearDownTestSuite() {
    delete certificates_;
    delete dir_;
    certificates_ = nullptr;
    dir_ = nullptr;
  }

  // An upstream table for `name` at `address` with `keys`.
  static std::string upstream(const std::string& name, const std::string& address,
                              const std::string& keys) {
    return "[upstreams." + name + "]\naddress = \"" + address + "\"\n" + keys + "\n";
  }
  static std::string quoted(const std::string& text) { return "\"" + text + "\""; }
  static NghttpdOptions cleartext() {
    NghttpdOptions options;
    options.docroot = docroot_;
    return options;
  }
  static NghttpdOptions over_tls() {
    NghttpdOptions options = cleartext();
    options.key_file = certificates_->server_key;
    options.cert_file = certificates_->server_cert;
    return options;
  }

  static TempDir* dir_;
  static TestCertificates* certificates_;
  static std::string docroot_;
  TempDir config_dir_;
};
TempDir* UpstreamH2::dir_ = nullptr;
TestCertificates* UpstreamH2::certificates_ = nullptr;
std::string UpstreamH2::docroot_;

TEST_F(UpstreamH2, H2cCarriesBodiesAndStatusesBothWays) {
  NghttpdPeer peer(cleartext());
  Levee levee(upstream("c", peer.address(), "protocol = \"h2c\""), {"c"}, config_dir_);

  const auto small = http_get(levee.port(), "/c/index.txt");
  ASSERT_TRUE(small.ok) << small;
  EXPECT_EQ(small.status, 200);
  EXPECT_EQ(small.body, "hello h2");
  EXPECT_THAT(small.header("Via").value_or(""), HasSubstr("2 levee"));

  const auto big = http_get(levee.port(), "/c/big.bin");
  ASSERT_TRUE(big.ok) << big;
  EXPECT_EQ(big.status, 200);
  EXPECT_EQ(big.body.size(), k_big_size);
  EXPECT_TRUE(big.body == big_body());

  const auto absent = http_get(levee.port(), "/c/absent");
  ASSERT_TRUE(absent.ok) << absent;
  EXPECT_EQ(absent.status, 404);

  // A request body larger than the peer's flow-control window (64 KiB) goes out as it opens;
  // levee's max_body_bytes (1 MiB) bounds it.
  HttpConnection connection(levee.port());
  const auto upload =
      connection.request("POST", "/c/index.txt", {}, big_body().substr(0, 512 * 1024));
  ASSERT_TRUE(upload.ok) << upload;
  EXPECT_EQ(upload.status, 200);
  EXPECT_EQ(upload.body, "hello h2");
  EXPECT_TRUE(eventually([&] { return peer.connections().size() == 1u; }))
      << peer.connections().size();
}

TEST_F(UpstreamH2, AnAnswerLargerThanMaxResponseBytesStreamsThroughAPassRoute) {
  // max_response_bytes bounds what levee holds; a pass route holds nothing, so a 2 MiB answer
  // goes through piece by piece (it was a 502 while HTTP/2 answers were read whole).
  NghttpdPeer peer(cleartext());
  Levee levee(upstream("c", peer.address(), "protocol = \"h2c\"\nmax_response_bytes = 65536"),
              {"c"}, config_dir_);
  const auto big = http_get(levee.port(), "/c/big.bin");
  ASSERT_TRUE(big.ok) << big;
  EXPECT_EQ(big.status, 200);
  EXPECT_EQ(big.body.size(), k_big_size);
  EXPECT_TRUE(big.body == big_body());
  // It did not end the connection: the next answer comes on it.
  const auto small = http_get(levee.port(), "/c/index.txt");
  ASSERT_TRUE(small.ok) << small;
  EXPECT_EQ(small.body, "hello h2");
  EXPECT_TRUE(eventually([&] { return peer.connections().size() == 1u; }))
      << peer.connections().size();
}

TEST_F(UpstreamH2, TrailersLandInTheResponse) {
  NghttpdOptions options = cleartext();
  options.trailers = {"grpc-status: 0", "grpc-message: all good"};
  NghttpdPeer peer(options);
  config::UpstreamConfig settings;
  settings.name = "c";
  settings.address = {"127.0.0.1", peer.port()};
  settings.protocol = config::UpstreamProtocol::h2c;
  const std::vector<boost::asio::ip::tcp::endpoint> endpoints{
      {boost::asio::ip::make_address("127.0.0.1"), peer.port()}};
  boost::asio::io_context io;
  upstream::H2Pool pool(io.get_executor(), settings, endpoints,
                        std::make_shared<upstream::UpstreamTransport>());
  core::Request request;
  request.method = "GET";
  request.target = "/c/index.txt";
  request.headers.add("TE", "trailers");
  std::optional<SendResult> result;
  boost::asio::co_spawn(io, send_into(&pool, &request, &result), boost::asio::detached);
  // The connection stays open (idle_timeout): run until the answer is in, bounded.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!result && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(*result) << result->error().describe("c");
  const core::Response& response = result->value();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body_view(), "hello h2");
  ASSERT_NE(response.trailers.find("grpc-status"), nullptr);
  EXPECT_EQ(*response.trailers.find("grpc-status"), "0");
  EXPECT_EQ(*response.trailers.find("grpc-message"), "all good");
  EXPECT_EQ(response.headers.find("grpc-status"), nullptr);
  pool.close_all();
}

TEST_F(UpstreamH2, FiftyConcurrentRequestsShareAtMostMaxH2Connections) {
  // The peer takes 10 streams per connection: 50 at once need the second connection and then
  // waits for a free stream (levee's queue, bounded by request_timeout).
  NghttpdOptions options = cleartext();
  options.max_concurrent_streams = 10;
  NghttpdPeer peer(options);
  Levee levee(upstream("c", peer.address(), "protocol = \"h2c\"\nmax_h2_connections = 2"), {"c"},
              config_dir_);
  // One call first, so that the peer's SETTINGS (10 streams) are known when the burst comes.
  const auto first = http_get(levee.port(), "/c/index.txt");
  ASSERT_TRUE(first.ok) << first;
  std::atomic<int> ok{0};
  std::vector<std::string> failures(50);
  {
    std::vector<std::thread> clients;
    for (int i = 0; i < 50; ++i) {
      clients.emplace_back([&, i] {
        const auto r = http_get(levee.port(), "/c/big.bin");
        if (r.ok && r.status == 200 && r.body.size() == k_big_size) {
          ++ok;
        } else {
          failures[i] = describe(r);
        }
      });
    }
    for (auto& client : clients) client.join();
  }
  for (const auto& failure : failures) EXPECT_EQ(failure, "");
  EXPECT_EQ(ok.load(), 50);
  const auto connections = peer.connections();
  RecordProperty("upstream_connections", static_cast<int>(connections.size()));
  EXPECT_GE(connections.size(), 1u);
  EXPECT_LE(connections.size(), 2u);
  EXPECT_LE(metric_value(levee.admin_port(), "levee_upstream_h2_connections{upstream=\"c\"}"), 2u);
  EXPECT_EQ(metric_value(levee.admin_port(), "levee_upstream_h2_streams{upstream=\"c\"}"), 0u);
}

TEST_F(UpstreamH2, H2OverTlsVerifiesTheServerByNameOrAddress) {
  NghttpdPeer peer(over_tls());
  const std::string ca = "tls_ca_file = " + quoted(certificates_->ca) + "\n";
  Levee levee(upstream("s", peer.address(),
                       "protocol = \"h2\"\n" + ca + "tls_server_name = \"levee.test\"") +
                  upstream("ip", peer.address(), "protocol = \"h2\"\n" + ca),
              {"s", "ip"}, config_dir_);
  for (const char* target : {"/s/index.txt", "/ip/index.txt"}) {
    const auto r = http_get(levee.port(), target);
    ASSERT_TRUE(r.ok) << r;
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_EQ(r.body, "hello h2");
  }
  const auto big = http_get(levee.port(), "/s/big.bin");
  ASSERT_TRUE(big.ok) << big;
  EXPECT_TRUE(big.body == big_body());
  EXPECT_EQ(metric_value(levee.admin_port(),
                         "levee_upstream_tls_handshake_failures_total{upstream=\"s\"}"),
            0u);
}

TEST_F(UpstreamH2, AServerCertificateFromAnotherCaIs502AndCounted) {
  NghttpdPeer peer(over_tls());
  Levee levee(upstream("wrongca", peer.address(),
                       "protocol = \"h2\"\ntls_ca_file = " + quoted(certificates_->other_ca)),
              {"wrongca"}, config_dir_);
  const auto r = http_get(levee.port(), "/wrongca/index.txt");
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.status, 502);
  EXPECT_THAT(r.body, HasSubstr("certificate verification failed"));
  EXPECT_EQ(metric_value(levee.admin_port(),
                         "levee_upstream_tls_handshake_failures_total{upstream=\"wrongca\"}"),
            1u);
  EXPECT_TRUE(eventually([&] {
    const auto log = levee.process->process.stderr_text();
    return log.find("upstream \"wrongca\"") != std::string::npos &&
           log.find("TLS handshake failed: certificate verification failed") != std::string::npos;
  })) << levee.process->process.stderr_text();
  EXPECT_TRUE(peer.connections().empty());
}

TEST_F(UpstreamH2, AClientCertificateIsAcceptedByAServerThatRequiresOne) {
  NghttpdOptions options = over_tls();
  options.require_client_certificate = true;
  NghttpdPeer peer(options);
  const std::string common = "protocol = \"h2\"\ntls_ca_file = " + quoted(certificates_->ca) + "\n";
  Levee levee(upstream("cert", peer.address(),
                       common + "tls_client_cert = " + quoted(certificates_->client_cert) +
                           "\ntls_client_key = " + quoted(certificates_->client_key)) +
                  upstream("nocert", peer.address(), common),
              {"cert", "nocert"}, config_dir_);
  const auto with = http_get(levee.port(), "/cert/index.txt");
  ASSERT_TRUE(with.ok) << with;
  EXPECT_EQ(with.status, 200) << with.body;
  EXPECT_EQ(with.body, "hello h2");
  // Without one the server ends the handshake: the control that the server does require it.
  const auto without = http_get(levee.port(), "/nocert/index.txt");
  ASSERT_TRUE(without.ok) << without;
  EXPECT_EQ(without.status, 502) << without.body;
}

TEST_F(UpstreamH2, SniReachesTheServerOverHttp1Tls) {
  SniCheckingServer server(certificates_->server_cert, certificates_->server_key, "levee.test");
  const std::string ca = "tls = true\ntls_ca_file = " + quoted(certificates_->ca) + "\n";
  Levee levee(upstream("plain", server.address(), ca + "tls_server_name = \"levee.test\"") +
                  upstream("wrongname", server.address(),
                           "tls = true\ntls_verify = false\ntls_server_name = \"other.test\""),
              {"plain", "wrongname"}, config_dir_);
  const auto right = http_get(levee.port(), "/plain/");
  ASSERT_TRUE(right.ok) << right;
  EXPECT_EQ(right.status, 200) << right.body;
  EXPECT_THAT(right.body, HasSubstr("s_server"));
  // The server refuses any other name (a fatal unrecognized_name alert).
  const auto wrong = http_get(levee.port(), "/wrongname/");
  ASSERT_TRUE(wrong.ok) << wrong;
  EXPECT_EQ(wrong.status, 502) << wrong.body;
  EXPECT_THAT(wrong.body, HasSubstr("unrecognized name"));
  EXPECT_THAT(levee.process->process.stderr_text(), HasSubstr("tls_verify = false"));
}

TEST_F(UpstreamH2, AnH2UpstreamThatDoesNotSelectH2InAlpnIs502) {
  SniCheckingServer server(certificates_->server_cert, certificates_->server_key, "levee.test");
  Levee levee(upstream("s", server.address(),
                       "protocol = \"h2\"\ntls_ca_file = " + quoted(certificates_->ca) +
                           "\ntls_server_name = \"levee.test\""),
              {"s"}, config_dir_);
  const auto r = http_get(levee.port(), "/s/");
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.status, 502);
  EXPECT_THAT(r.body, HasSubstr("ALPN"));
}

TEST_F(UpstreamH2, AnIdleConnectionClosesAfterIdleTimeout) {
  NghttpdPeer peer(cleartext());
  Levee levee(upstream("c", peer.address(), "protocol = \"h2c\"\nidle_timeout = \"200ms\""), {"c"},
              config_dir_);
  const auto r = http_get(levee.port(), "/c/index.txt");
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(eventually(
      [&] {
        return metric_value(levee.admin_port(), "levee_upstream_h2_connections{upstream=\"c\"}") ==
               0;
      },
      std::chrono::seconds(10)));
  // The next call opens a new connection.
  const auto again = http_get(levee.port(), "/c/index.txt");
  ASSERT_TRUE(again.ok) << again;
  EXPECT_EQ(again.status, 200);
  // nghttpd logs the second connection's SETTINGS a moment after it answered.
  EXPECT_TRUE(eventually([&] { return peer.connections().size() == 2u; }))
      << peer.connections().size();
}

// A listener that never accepts: the connect succeeds (the kernel's backlog) and nothing is
// ever answered, so a stream can only end by levee's request_timeout.
class SilentListener {
 public:
  SilentListener() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {}
  [[nodiscard]] std::string address() const {
    return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

TEST_F(UpstreamH2, AStreamWithoutAnAnswerTimesOutAs504) {
  SilentListener silent;
  Levee levee(upstream("c", silent.address(), "protocol = \"h2c\"\nrequest_timeout = \"300ms\""),
              {"c"}, config_dir_);
  const auto r = http_get(levee.port(), "/c/index.txt");
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_THAT(r.body, HasSubstr("did not answer in time"));
  // The stream is reset (RST_STREAM) as the caller is answered, and then closed.
  EXPECT_TRUE(eventually([&] {
    return metric_value(levee.admin_port(), "levee_upstream_h2_streams{upstream=\"c\"}") == 0;
  }));
}

TEST_F(UpstreamH2, AGoawayLetsTheStreamInFlightFinishAndRetiresTheConnection) {
  Process peer("/usr/bin/python3", {source_path("tests/peers/grpc_goaway_peer.py")});
  const std::string ready = peer.wait_for_line("grpc_goaway_peer ready", std::chrono::seconds(20));
  const std::string address = "127.0.0.1:" + ready.substr(ready.find("port=") + 5);
  const std::string text =
      "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nworkers = 1\n" +
      upstream("g", address, "protocol = \"h2c\"") +
      "[[routes]]\nname = \"g\"\npath_prefix = \"/test.Echo/\"\nupstream = \"g\"\n";
  LeveeProcess levee(write_file(config_dir_.path() / "levee.toml", text));
  // One gRPC message: uncompressed, length 5, "hello".
  const std::string message("\0\0\0\0\5hello", 10);
  const auto r = http_post(levee.port, "/test.Echo/Echo", message,
                           {{"Content-Type", "application/grpc"}, {"TE", "trailers"}});
  ASSERT_TRUE(r.ok) << r;
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, message);
  EXPECT_GE(metric_value(levee.admin_port, "levee_upstream_h2_goaways_total{upstream=\"g\"}"), 1u);
  // Nothing more is sent on it: it closes once its last stream has ended.
  EXPECT_TRUE(eventually([&] {
    return metric_value(levee.admin_port, "levee_upstream_h2_connections{upstream=\"g\"}") == 0;
  }));
}

TEST_F(UpstreamH2, AnUnreadableCaFileStopsStartWithItsKey) {
  const std::string text =
      "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n"
      "[upstreams.s]\naddress = \"127.0.0.1:1\"\nprotocol = \"h2\"\n"
      "tls_ca_file = \"/nonexistent/ca.pem\"\n"
      "[[routes]]\nname = \"s\"\nupstream = \"s\"\n";
  const auto path = write_file(config_dir_.path() / "bad.toml", text);
  Process check(binary_path("levee"), {"check", "--config", path});
  EXPECT_NE(check.wait_exit(std::chrono::seconds(20)), 0);
  EXPECT_THAT(check.stderr_text() + check.stdout_text(),
              HasSubstr("bad.toml:7:15: upstreams.s.tls_ca_file: cannot read"));
  Process serve(binary_path("levee"), {"serve", "--config", path});
  EXPECT_NE(serve.wait_exit(std::chrono::seconds(20)), 0);
  EXPECT_THAT(serve.stderr_text() + serve.stdout_text(), HasSubstr("upstreams.s.tls_ca_file"));
}

}  // namespace
}  // namespace levee::testing
