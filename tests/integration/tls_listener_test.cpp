// TLS on the proxy listener (issue 20): levee terminates TLS, chooses HTTP/2 or HTTP/1.1 by
// ALPN, and tells h2c, TLS and cleartext HTTP/1.1 apart on one port. Real peers: curl and the
// openssl CLI (s_client) against a levee whose certificate is made at test time by a throwaway
// CA (tests/common/test_pki.hpp); the bundled levee-upstream answers behind it.
//
// Synchronisation: the clients are run to their end (each under `timeout`); counters are read
// from /metrics; reloads are known by levee's `levee reload N ok|failed` line. No sleeps.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>

#include "common/test_pki.hpp"
#include "levee_fixture.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"

namespace levee::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr
};

// Runs `command` under sh, bounded by coreutils' timeout.
CommandResult run(const std::string& command) {
  CommandResult result;
  const std::string bounded = "timeout 30 sh -c '" + command + "' 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(bounded.c_str(), "r"), &::pclose);
  if (!pipe) return result;
  std::array<char, 4096> chunk{};
  while (std::fgets(chunk.data(), chunk.size(), pipe.get()) != nullptr)
    result.output += chunk.data();
  result.status = ::pclose(pipe.release());
  return result;
}

// What `openssl s_client` says about a handshake with levee, stdin closed at once.
std::string s_client(std::uint16_t port, const std::string& options) {
  return run(fmt::format("openssl s_client -connect 127.0.0.1:{} -servername localhost {} "
                         "</dev/null",
                         port, options))
      .output;
}

// The serial number of the certificate levee serves now.
std::string served_serial(std::uint16_t port) {
  return run(fmt::format("openssl s_client -connect 127.0.0.1:{} -servername localhost "
                         "</dev/null 2>/dev/null | openssl x509 -noout -serial",
                         port))
      .output;
}

// What the peer sends until it closes: a TLS alert record (type 0x15) and the close, as
// "alert, then closed"; anything else described. Bounded: 10 s without a byte ends it.
std::string bytes_until_close(HttpConnection& connection) {
  std::string received;
  for (int reads = 0; reads < 100; ++reads) {
    pollfd pfd{connection.native_handle(), POLLIN, 0};
    if (::poll(&pfd, 1, 10000) <= 0)
      return "still open after " + std::to_string(received.size()) + " bytes";
    std::array<char, 512> chunk{};
    const ssize_t n = ::recv(connection.native_handle(), chunk.data(), chunk.size(), 0);
    if (n <= 0) {
      if (!received.empty() && received.front() == '\x15') return "alert, then closed";
      return "closed after " + std::to_string(received.size()) + " bytes";
    }
    received.append(chunk.data(), static_cast<std::size_t>(n));
  }
  return "too many bytes";
}

std::string tls_keys(const TestPki::Issued& issued, const std::string& extra = "") {
  return fmt::format("tls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n{}", issued.cert, issued.key,
                     extra);
}

class TlsListener : public ::testing::Test {
 protected:
  static LeveeOptions options(const TestPki::Issued& issued) {
    LeveeOptions o;
    o.workers = 1;
    o.server_extra = tls_keys(issued, "header_timeout = \"2s\"\n");
    return o;
  }

  [[nodiscard]] std::string curl(const std::string& options, const std::string& target) const {
    return run(fmt::format("curl -sS --cacert {} {} -o /dev/null -w \"%{{http_code}} "
                           "%{{http_version}}\" https://localhost:{}{}",
                           pki.ca_cert(), options, stack.port(), target))
        .output;
  }

  [[nodiscard]] std::uint64_t failures(const std::string& reason) const {
    return metric_value(stack.admin_port(),
                        "levee_tls_handshake_failures_total{reason=\"" + reason + "\"}");
  }

  [[nodiscard]] std::string log() const {
    return stack.levee.process.stdout_text() + stack.levee.process.stderr_text();
  }

  TestPki pki;
  TestPki::Issued first = pki.issue("server", "localhost", "0A01");
  Stack stack{options(first)};
};

TEST_F(TlsListener, CurlOverTlsIsAnsweredByTheUpstream) {
  EXPECT_EQ(curl("--http1.1", "/api/tls"), "200 1.1");
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_tls_handshakes_total{protocol=\"http/1.1\"}"),
            1u);
}

TEST_F(TlsListener, KeptAliveChunkedAndLargeExchangesWorkOverTls) {
  // Two requests on one connection (the second connects nothing).
  EXPECT_EQ(run(fmt::format("curl -sS --http1.1 --cacert {} -o /dev/null -o /dev/null -w "
                            "\"%{{http_code}}:%{{num_connects}} \" https://localhost:{}/api/a "
                            "https://localhost:{}/api/b",
                            pki.ca_cert(), stack.port(), stack.port()))
                .output,
            "200:1 200:0 ");
  // A streamed (chunked) answer arrives whole.
  EXPECT_EQ(run(fmt::format("curl -sS --http1.1 --cacert {} https://localhost:{}/chunked",
                            pki.ca_cert(), stack.port()))
                .output,
            R"({"chunked":true,"parts":["one","two","three"]})");
  // A body larger than a TLS record, each way.
  const std::string body_file = pki.path("body.bin");
  ASSERT_EQ(run("head -c 300000 /dev/zero | tr \"\\\\0\" Z > " + body_file).status, 0);
  // The upstream echoes the body: it came through whole, and went back whole.
  const auto echoed = run(fmt::format(
      "curl -sS --http1.1 --cacert {} --data-binary @{} https://localhost:{}/api/upload | "
      "tr -cd Z | wc -c",
      pki.ca_cert(), body_file, stack.port()));
  EXPECT_EQ(echoed.output, "300000\n");
}

TEST_F(TlsListener, H2OverTlsIsServedByTheHttp2Session) {
  EXPECT_EQ(curl("--http2", "/api/h2"), "200 2");
  // nghttp (nghttp2's own client) offers only h2; it does not check the certificate.
  EXPECT_EQ(run(fmt::format("nghttp -n -v https://localhost:{}/api/nghttp 2>/dev/null | "
                            "grep -c \":status: 200\"",
                            stack.port()))
                .output,
            "1\n");
  EXPECT_EQ(metric_value(stack.admin_port(), "levee_tls_handshakes_total{protocol=\"h2\"}"), 2u);
}

TEST_F(TlsListener, OneListenerServesH2cH2AndHttp11) {
  EXPECT_EQ(run(fmt::format("curl -sS --http2-prior-knowledge -o /dev/null -w "
                            "\"%{{http_code}} %{{http_version}}\" http://127.0.0.1:{}/api/h2c",
                            stack.port()))
                .output,
            "200 2");
  EXPECT_EQ(curl("--http2", "/api/h2-tls"), "200 2");
  EXPECT_EQ(curl("--http1.1", "/api/http11-tls"), "200 1.1");
  EXPECT_EQ(http_get(stack.port(), "/api/http11-plain").status, 200);
}

TEST_F(TlsListener, AlpnChoosesH2WhenOffered) {
  const std::string out = s_client(stack.port(), "-alpn h2,http/1.1");
  EXPECT_THAT(out, HasSubstr("ALPN protocol: h2"));
  EXPECT_THAT(out, HasSubstr("New, TLSv1.3"));
  // The cert file holds the chain (leaf, then the CA): all of it is sent.
  EXPECT_THAT(out, HasSubstr(" 1 s:CN = levee-test-ca"));
}

TEST_F(TlsListener, AClientOfferingOnlyHttp11OrNoAlpnIsServedHttp11) {
  EXPECT_THAT(s_client(stack.port(), "-alpn http/1.1"), HasSubstr("ALPN protocol: http/1.1"));
  EXPECT_THAT(s_client(stack.port(), ""), HasSubstr("No ALPN negotiated"));
  EXPECT_EQ(curl("--http1.1 --no-alpn", "/api/no-alpn"), "200 1.1");
  EXPECT_EQ(curl("--http1.1", "/api/http11"), "200 1.1");
}

TEST_F(TlsListener, CleartextHttp11IsStillServedOnTheSamePort) {
  const auto response = http_get(stack.port(), "/api/plain");
  EXPECT_EQ(response.status, 200) << response;
  EXPECT_EQ(curl("--http1.1", "/api/after-plain"), "200 1.1");
}

TEST_F(TlsListener, TlsOneOneIsRefusedAndCounted) {
  const std::string out =
      s_client(stack.port(), "-tls1_1 -cipher DEFAULT@SECLEVEL=0 -alpn http/1.1");
  EXPECT_THAT(out, ::testing::Not(HasSubstr("ALPN protocol")));
  EXPECT_TRUE(eventually([&] { return failures("version") == 1; })) << failures("version");
  EXPECT_TRUE(eventually([&] { return log().find("failed (version)") != std::string::npos; }))
      << log();
  EXPECT_EQ(curl("--http1.1", "/api/after-refusal"), "200 1.1");
}

TEST_F(TlsListener, AGarbageClientHelloIsCountedAndTheListenerKeepsServing) {
  {
    HttpConnection connection(stack.port());
    // A handshake record whose body is no ClientHello.
    ASSERT_TRUE(connection.send_raw(std::string("\x16\x03\x01\x00\x08garbage!", 13)));
    EXPECT_EQ(bytes_until_close(connection), "alert, then closed");
  }
  EXPECT_TRUE(eventually([&] { return failures("bad_handshake") == 1; }))
      << failures("bad_handshake");
  EXPECT_EQ(curl("--http1.1", "/api/after-garbage"), "200 1.1");
  EXPECT_EQ(http_get(stack.port(), "/api/after-garbage-plain").status, 200);
}

TEST_F(TlsListener, AHandshakeThatNeverCompletesIsClosedAfterHeaderTimeout) {
  HttpConnection connection(stack.port(), 30s);
  // The first bytes of a record, and nothing more.
  ASSERT_TRUE(connection.send_raw(std::string("\x16\x03\x01", 3)));
  EXPECT_TRUE(connection.closed_by_peer(30s));
  EXPECT_TRUE(eventually([&] { return failures("timeout") == 1; })) << failures("timeout");
}

TEST_F(TlsListener, AReloadServesANewCertificateToNewConnections) {
  EXPECT_THAT(served_serial(stack.port()), HasSubstr("serial=0A01"));
  // The same paths, new contents: a renewal.
  (void)pki.issue("server", "localhost", "0B02");
  ASSERT_TRUE(stack.levee.process.send_signal(SIGHUP));
  EXPECT_THAT(stack.levee.process.wait_for_line("levee reload 1 ", 30s), HasSubstr("ok"));
  EXPECT_THAT(served_serial(stack.port()), HasSubstr("serial=0B02"));
  EXPECT_EQ(curl("--http1.1", "/api/after-reload"), "200 1.1");
}

TEST_F(TlsListener, AReloadWithABadCertificateKeepsTheOldOne) {
  const auto other = pki.issue("other", "localhost", "0C03");
  // The key no longer matches the certificate at the configured path.
  ASSERT_EQ(run("cp " + other.key + " " + first.key).status, 0);
  ASSERT_TRUE(stack.levee.process.send_signal(SIGHUP));
  EXPECT_THAT(stack.levee.process.wait_for_line("levee reload 1 ", 30s), HasSubstr("failed"));
  EXPECT_TRUE(eventually([&] { return log().find("server.tls_key_file") != std::string::npos; }))
      << log();
  EXPECT_THAT(served_serial(stack.port()), HasSubstr("serial=0A01"));
  EXPECT_EQ(curl("--http1.1", "/api/after-bad-reload"), "200 1.1");
}

TEST(TlsAdminListener, TheAdminListenerServesTlsWithItsOwnCertificate) {
  TestPki pki;
  const auto proxy = pki.issue("proxy", "localhost", "0D01");
  const auto admin = pki.issue("admin", "localhost", "0D02");
  LeveeOptions options;
  options.workers = 1;
  options.server_extra = tls_keys(proxy, fmt::format("admin_tls_cert_file = \"{}\"\n"
                                                     "admin_tls_key_file = \"{}\"\n",
                                                     admin.cert, admin.key));
  Stack stack(options);
  EXPECT_EQ(run(fmt::format("curl -sS --http1.1 --cacert {} -o /dev/null -w \"%{{http_code}}\" "
                            "https://localhost:{}/readyz",
                            pki.ca_cert(), stack.admin_port()))
                .output,
            "200");
  EXPECT_THAT(served_serial(stack.admin_port()), HasSubstr("serial=0D02"));
  EXPECT_THAT(served_serial(stack.port()), HasSubstr("serial=0D01"));
}

// Without TLS on the listener a ClientHello is HTTP/1.1 nonsense: 400, and no handshake.
TEST(TlsListenerOff, AClientHelloToACleartextListenerIsAnsweredAsHttp11) {
  Stack stack;
  HttpConnection connection(stack.port());
  ASSERT_TRUE(connection.send_raw(std::string("\x16\x03\x01\x00\x08garbage!\r\n\r\n", 17)));
  const auto response = connection.read_response();
  EXPECT_EQ(response.status, 400) << response;
  EXPECT_EQ(http_get(stack.port(), "/api/plain").status, 200);
}

}  // namespace
}  // namespace levee::testing
