// server::classify_first_bytes: which protocol a connection's first peeked bytes announce.

#include "server/first_bytes.hpp"

#include <gtest/gtest.h>

#include <string>

namespace levee::server {
namespace {

TEST(FirstBytes, ATlsRecordStartsWithTheHandshakeType) {
  EXPECT_EQ(classify_first_bytes(std::string("\x16\x03\x01\x02", 4)), FirstBytes::tls);
  EXPECT_EQ(classify_first_bytes(std::string("\x16", 1)), FirstBytes::tls);
}

TEST(FirstBytes, TheHttp2PrefaceIsKnownByItsFirstFourBytes) {
  EXPECT_EQ(classify_first_bytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), FirstBytes::h2c_preface);
  EXPECT_EQ(classify_first_bytes("PRI "), FirstBytes::h2c_preface);
}

TEST(FirstBytes, APrefixOfThePrefaceWaitsForMore) {
  EXPECT_EQ(classify_first_bytes(""), FirstBytes::undecided);
  EXPECT_EQ(classify_first_bytes("P"), FirstBytes::undecided);
  EXPECT_EQ(classify_first_bytes("PRI"), FirstBytes::undecided);
}

TEST(FirstBytes, EverythingElseIsHttp1) {
  EXPECT_EQ(classify_first_bytes("GET / HTTP/1.1\r\n"), FirstBytes::http1);
  EXPECT_EQ(classify_first_bytes("POST"), FirstBytes::http1);
  EXPECT_EQ(classify_first_bytes("PUT "), FirstBytes::http1);
  EXPECT_EQ(classify_first_bytes("PRIX"), FirstBytes::http1);
  EXPECT_EQ(classify_first_bytes("G"), FirstBytes::http1);
  EXPECT_EQ(classify_first_bytes(std::string("\x00\x01", 2)), FirstBytes::http1);
}

}  // namespace
}  // namespace levee::server
