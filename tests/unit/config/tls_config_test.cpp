// [server] TLS keys: what the loader refuses in the file (one file without the other, a
// version below 1.2) and what the preflight refuses on the machine (a file that cannot be
// read, not PEM, a key that is not the certificate's, a cipher list without a cipher), each at
// its file:line and key. An expired certificate only warns. The certificates are made by
// the openssl CLI in a temporary directory (tests/common/test_pki.hpp).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "common/test_pki.hpp"
#include "config/config_error.hpp"
#include "config/loader.hpp"
#include "config/preflight.hpp"
#include "config/tls_credentials.hpp"

namespace levee::config {
namespace {

using ::testing::HasSubstr;

// Line 4 is the first line of `tls_lines`.
std::string toml_with(const std::string& tls_lines) {
  return "[server]\n"
         "listen = \"127.0.0.1:0\"\n"
         "admin_listen = \"127.0.0.1:0\"\n" +
         tls_lines +
         "[upstreams.backend]\n"
         "address = \"127.0.0.1:9000\"\n"
         "[[routes]]\n"
         "name = \"api\"\n"
         "upstream = \"backend\"\n";
}

std::string describe(const std::vector<ConfigError>& errors) {
  std::string text;
  for (const ConfigError& error : errors) text += "\n  " + error.to_string();
  return text;
}

std::vector<ConfigError> load_errors(const std::string& text) {
  try {
    (void)load_string(text, "test.toml", {});
  } catch (const ConfigErrors& e) {
    return e.errors;
  }
  return {};
}

ConfigError only_error(const std::vector<ConfigError>& errors, const std::string& key) {
  if (errors.size() != 1 || errors[0].key != key) {
    ADD_FAILURE() << "expected one error for " << key << ", got:" << describe(errors);
    return {};
  }
  return errors[0];
}

std::string files(const std::string& cert, const std::string& key) {
  return "tls_cert_file = \"" + cert + "\"\ntls_key_file = \"" + key + "\"\n";
}

TEST(TlsConfig, BothFilesAndTheDefaultsLoad) {
  const Config config = load_string(toml_with(files("/c.pem", "/k.pem")), "test.toml", {});
  EXPECT_TRUE(config.server.tls.enabled());
  EXPECT_EQ(config.server.tls.cert_file, "/c.pem");
  EXPECT_EQ(config.server.tls.key_file, "/k.pem");
  EXPECT_EQ(config.server.tls.min_version, TlsVersion::tls1_2);
  EXPECT_FALSE(config.server.admin_tls.enabled());
}

TEST(TlsConfig, WithoutTheKeysThereIsNoTls) {
  const Config config = load_string(toml_with(""), "test.toml", {});
  EXPECT_FALSE(config.server.tls.enabled());
}

TEST(TlsConfig, ACertificateWithoutItsKeyIsRefusedAtTheCertificate) {
  const ConfigError error =
      only_error(load_errors(toml_with("tls_cert_file = \"/c.pem\"\n")), "server.tls_cert_file");
  EXPECT_EQ(error.line, 4u);
  EXPECT_THAT(error.message, HasSubstr("needs server.tls_key_file"));
}

TEST(TlsConfig, AnAdminKeyWithoutItsCertificateIsRefused) {
  const ConfigError error = only_error(load_errors(toml_with("admin_tls_key_file = \"/k.pem\"\n")),
                                       "server.admin_tls_key_file");
  EXPECT_THAT(error.message, HasSubstr("needs server.admin_tls_cert_file"));
}

TEST(TlsConfig, VersionsBelowOneTwoAreRefused) {
  for (const std::string version : {"1.0", "1.1", "SSLv3"}) {
    const ConfigError error =
        only_error(load_errors(toml_with(files("/c.pem", "/k.pem") + "tls_min_version = \"" +
                                         version + "\"\n")),
                   "server.tls_min_version");
    EXPECT_EQ(error.line, 6u);
    EXPECT_THAT(error.message, HasSubstr("is refused: levee speaks TLS 1.2 and 1.3 only"));
  }
  const ConfigError odd =
      only_error(load_errors(toml_with(files("/c.pem", "/k.pem") + "tls_min_version = \"1.4\"\n")),
                 "server.tls_min_version");
  EXPECT_THAT(odd.message, HasSubstr("expected \"1.2\" or \"1.3\""));
  const Config config = load_string(
      toml_with(files("/c.pem", "/k.pem") + "tls_min_version = \"1.3\"\n"), "test.toml", {});
  EXPECT_EQ(config.server.tls.min_version, TlsVersion::tls1_3);
}

TEST(TlsConfig, RelativeFilesAreTakenFromTheConfigFilesDirectory) {
  const Config config =
      load_string(toml_with(files("certs/c.pem", "/abs/k.pem")), "/etc/levee/levee.toml", {});
  EXPECT_EQ(config.server.tls.cert_file, "/etc/levee/certs/c.pem");
  EXPECT_EQ(config.server.tls.key_file, "/abs/k.pem");
}

class TlsPreflight : public ::testing::Test {
 protected:
  testing::TestPki pki;
  testing::TestPki::Issued one = pki.issue("one", "one", "1001");
  testing::TestPki::Issued two = pki.issue("two", "two", "1002");

  std::vector<ConfigError> check(const std::string& tls_lines) {
    return preflight(load_string(toml_with(tls_lines), "test.toml", {}), PreflightFor::check);
  }
};

TEST_F(TlsPreflight, AMatchingCertificateAndKeyPass) {
  const auto errors = check(files(one.cert, one.key));
  EXPECT_TRUE(errors.empty()) << describe(errors);
}

TEST_F(TlsPreflight, AFileThatCannotBeReadIsReportedAtItsKey) {
  const ConfigError error =
      only_error(check(files(pki.path("missing.pem"), one.key)), "server.tls_cert_file");
  EXPECT_EQ(error.file, "test.toml");
  EXPECT_EQ(error.line, 4u);
  EXPECT_THAT(error.message, HasSubstr("cannot read \"" + pki.path("missing.pem") + "\""));
  EXPECT_THAT(error.message, HasSubstr("No such file"));
}

TEST_F(TlsPreflight, AFileThatIsNotPemIsReported) {
  const std::string junk = pki.path("junk.pem");
  std::ofstream(junk) << "not a certificate\n";
  const ConfigError error = only_error(check(files(junk, one.key)), "server.tls_cert_file");
  EXPECT_THAT(error.message, HasSubstr("cannot load the certificate (chain) from"));
}

TEST_F(TlsPreflight, AKeyOfAnotherCertificateIsReportedAtTheKey) {
  const ConfigError error = only_error(check(files(one.cert, two.key)), "server.tls_key_file");
  EXPECT_EQ(error.line, 5u);
  EXPECT_THAT(error.message, HasSubstr(two.key));
  EXPECT_THAT(error.message, HasSubstr("key values mismatch"));
}

TEST_F(TlsPreflight, ACipherListWithoutACipherIsReported) {
  const ConfigError error = only_error(
      check(files(one.cert, one.key) + "tls_ciphers = \"NO-SUCH-CIPHER\"\n"), "server.tls_ciphers");
  EXPECT_EQ(error.line, 6u);
  EXPECT_THAT(error.message, HasSubstr("no usable cipher"));
}

TEST_F(TlsPreflight, TheAdminListenersFilesAreCheckedToo) {
  const ConfigError error = only_error(check("admin_tls_cert_file = \"" + one.cert +
                                             "\"\nadmin_tls_key_file = \"" + two.key + "\"\n"),
                                       "server.admin_tls_key_file");
  EXPECT_THAT(error.message, HasSubstr("key values mismatch"));
}

TEST_F(TlsPreflight, AnExpiredCertificateOnlyWarns) {
  const auto old = pki.issue("old", "old", "1003", -1);
  const auto errors = check(files(old.cert, old.key));
  EXPECT_TRUE(errors.empty()) << describe(errors);
  const auto warning = certificate_validity_problem(old.cert);
  ASSERT_TRUE(warning.has_value());
  EXPECT_THAT(*warning, HasSubstr("has expired"));
  EXPECT_FALSE(certificate_validity_problem(one.cert).has_value());
}

}  // namespace
}  // namespace levee::config
