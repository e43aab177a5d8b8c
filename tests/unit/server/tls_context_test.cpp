// server::make_tls_context: a handshake in memory (an OpenSSL BIO pair, no socket) between the
// server context and a client that offers some ALPN protocols and TLS versions.

#include "server/tls_context.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/test_pki.hpp"

namespace levee::server {
namespace {

struct Outcome {
  bool done = false;
  std::string alpn;         // what the server selected
  unsigned long error = 0;  // the server's OpenSSL error when it refused
};

// Runs a handshake to its end; `alpn` is the client's list in wire format ("\x02h2...").
Outcome handshake(const TlsContextPtr& server_context, const std::string& alpn,
                  int client_max_version = 0) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> client_context(SSL_CTX_new(TLS_client_method()),
                                                                   &SSL_CTX_free);
  if (client_max_version != 0) {
    SSL_CTX_set_security_level(client_context.get(), 0);  // lets the client offer TLS 1.1
    SSL_CTX_set_min_proto_version(client_context.get(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(client_context.get(), client_max_version);
  }
  if (!alpn.empty()) {
    SSL_CTX_set_alpn_protos(client_context.get(),
                            reinterpret_cast<const unsigned char*>(alpn.data()),
                            static_cast<unsigned int>(alpn.size()));
  }
  std::unique_ptr<SSL, decltype(&SSL_free)> client(SSL_new(client_context.get()), &SSL_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> server(SSL_new(server_context->native_handle()),
                                                   &SSL_free);
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());
  ERR_clear_error();
  Outcome outcome;
  bool client_done = false;
  bool server_done = false;
  for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
    if (!client_done) {
      const int r = SSL_do_handshake(client.get());
      if (r == 1)
        client_done = true;
      else if (SSL_get_error(client.get(), r) != SSL_ERROR_WANT_READ)
        break;
    }
    if (!server_done) {
      const int r = SSL_do_handshake(server.get());
      if (r == 1) {
        server_done = true;
      } else if (SSL_get_error(server.get(), r) != SSL_ERROR_WANT_READ) {
        outcome.error = ERR_peek_error();
        break;
      }
    }
  }
  outcome.done = client_done && server_done;
  outcome.alpn = std::string(selected_alpn(server.get()));
  ERR_clear_error();
  return outcome;
}

const std::string k_h2_and_http11("\x02h2\x08http/1.1", 12);
const std::string k_http11_only("\x08http/1.1", 9);

class TlsContext : public ::testing::Test {
 protected:
  testing::TestPki pki;
  testing::TestPki::Issued issued = pki.issue("server", "localhost", "2001");

  TlsContextPtr make(bool http2, config::TlsVersion min = config::TlsVersion::tls1_2) {
    config::TlsListenerConfig tls{issued.cert, issued.key, "", min};
    auto context = make_tls_context(tls, http2, "");
    if (!context) ADD_FAILURE() << context.error().message;
    return context ? context.value() : nullptr;
  }
};

TEST_F(TlsContext, AClientOfferingH2GetsH2) {
  const Outcome outcome = handshake(make(true), k_h2_and_http11);
  EXPECT_TRUE(outcome.done);
  EXPECT_EQ(outcome.alpn, "h2");
}

TEST_F(TlsContext, AClientOfferingOnlyHttp11GetsHttp11) {
  const Outcome outcome = handshake(make(true), k_http11_only);
  EXPECT_TRUE(outcome.done);
  EXPECT_EQ(outcome.alpn, "http/1.1");
}

TEST_F(TlsContext, WithHttp2OffH2IsNeverSelected) {
  const Outcome outcome = handshake(make(false), k_h2_and_http11);
  EXPECT_TRUE(outcome.done);
  EXPECT_EQ(outcome.alpn, "http/1.1");
}

TEST_F(TlsContext, AClientWithoutAlpnStillCompletesItsHandshake) {
  const Outcome outcome = handshake(make(true), "");
  EXPECT_TRUE(outcome.done);
  EXPECT_EQ(outcome.alpn, "");
}

TEST_F(TlsContext, AClientOfferingOnlyUnknownProtocolsGetsNoAlpn) {
  const Outcome outcome = handshake(make(true), std::string("\x06spdy/3", 7));
  EXPECT_TRUE(outcome.done);
  EXPECT_EQ(outcome.alpn, "");
}

TEST_F(TlsContext, TlsOneOneIsRefused) {
  const Outcome outcome = handshake(make(true), k_h2_and_http11, TLS1_1_VERSION);
  EXPECT_FALSE(outcome.done);
  EXPECT_EQ(ERR_GET_REASON(outcome.error), SSL_R_UNSUPPORTED_PROTOCOL);
}

TEST_F(TlsContext, AMinimumOfOneThreeRefusesOneTwo) {
  EXPECT_FALSE(
      handshake(make(true, config::TlsVersion::tls1_3), k_h2_and_http11, TLS1_2_VERSION).done);
  EXPECT_TRUE(handshake(make(true, config::TlsVersion::tls1_3), k_h2_and_http11).done);
}

TEST_F(TlsContext, AKeyThatIsNotTheCertificatesIsAProblemAtTheKey) {
  const auto other = pki.issue("other", "other", "2002");
  auto context =
      make_tls_context({issued.cert, other.key, "", config::TlsVersion::tls1_2}, true, "admin_");
  ASSERT_FALSE(context);
  EXPECT_EQ(context.error().key, "admin_tls_key_file");
}

TEST_F(TlsContext, CompressionAndRenegotiationAreOff) {
  const auto context = make(true);
  const auto options = SSL_CTX_get_options(context->native_handle());
  EXPECT_NE(options & SSL_OP_NO_COMPRESSION, 0u);
  EXPECT_NE(options & SSL_OP_NO_RENEGOTIATION, 0u);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(context->native_handle()), TLS1_2_VERSION);
}

}  // namespace
}  // namespace levee::server
