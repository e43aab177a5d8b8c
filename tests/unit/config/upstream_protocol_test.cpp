// [upstreams.NAME] protocol, max_h2_connections and tls_* keys: what the loader accepts and
// refuses, and the preflight's report of TLS files that cannot be loaded (at their key).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config_error.hpp"
#include "config/loader.hpp"
#include "config/preflight.hpp"

namespace levee::config {
namespace {

using ::testing::HasSubstr;

// `keys` go into [upstreams.backend], from line 3 on.
std::string toml_with(const std::string& keys) {
  return "[upstreams.backend]\n"
         "address = \"127.0.0.1:9000\"\n" +
         keys +
         "\n[[routes]]\n"
         "name = \"api\"\n"
         "upstream = \"backend\"\n";
}

Config load(const std::string& text) { return load_string(text, "test.toml", {}); }

std::vector<ConfigError> errors_of(const std::string& text) {
  try {
    (void)load(text);
  } catch (const ConfigErrors& errors) {
    return errors.errors;
  }
  ADD_FAILURE() << "expected the configuration to be rejected";
  return {};
}

std::string describe(const std::vector<ConfigError>& errors) {
  std::string text;
  for (const ConfigError& error : errors) text += "\n  " + error.to_string();
  return text;
}

// Exactly one error, about `key` at test.toml:line.
ConfigError only_error(const std::vector<ConfigError>& errors, const std::string& key,
                       std::size_t line) {
  if (errors.size() != 1 || errors[0].key != key) {
    ADD_FAILURE() << "expected one error for " << key << ", got:" << describe(errors);
    return {};
  }
  EXPECT_EQ(errors[0].file, "test.toml");
  EXPECT_EQ(errors[0].line, line) << errors[0].to_string();
  return errors[0];
}

TEST(UpstreamProtocolConfig, DefaultsAreHttp1InCleartext) {
  const Config config = load(toml_with(""));
  const UpstreamConfig& upstream = config.upstreams.at(0);
  EXPECT_EQ(upstream.protocol, UpstreamProtocol::http1);
  EXPECT_FALSE(upstream.tls.enabled);
  EXPECT_TRUE(upstream.tls.verify);
  EXPECT_EQ(upstream.max_h2_connections, 2u);
}

TEST(UpstreamProtocolConfig, ReadsEveryKey) {
  const Config config =
      load(toml_with("protocol = \"h2\"\nmax_h2_connections = 4\ntls_ca_file = \"/ca.pem\"\n"
                     "tls_server_name = \"api.internal\"\ntls_client_cert = \"/c.pem\"\n"
                     "tls_client_key = \"/k.pem\"\ntls_verify = false"));
  const UpstreamConfig& upstream = config.upstreams.at(0);
  EXPECT_EQ(upstream.protocol, UpstreamProtocol::h2);
  EXPECT_TRUE(upstream.tls.enabled);  // implied by h2
  EXPECT_EQ(upstream.max_h2_connections, 4u);
  EXPECT_EQ(upstream.tls.ca_file, "/ca.pem");
  EXPECT_EQ(upstream.tls.server_name, "api.internal");
  EXPECT_EQ(upstream.tls.client_cert, "/c.pem");
  EXPECT_EQ(upstream.tls.client_key, "/k.pem");
  EXPECT_FALSE(upstream.tls.verify);
  EXPECT_EQ(load(toml_with("protocol = \"h2c\"")).upstreams.at(0).protocol, UpstreamProtocol::h2c);
  EXPECT_TRUE(load(toml_with("tls = true")).upstreams.at(0).tls.enabled);
}

TEST(UpstreamProtocolConfig, AnUnknownProtocolNamesTheChoices) {
  const auto error =
      only_error(errors_of(toml_with("protocol = \"http2\"")), "upstreams.backend.protocol", 3);
  EXPECT_THAT(error.message, HasSubstr("\"http1\", \"h2c\" or \"h2\""));
}

TEST(UpstreamProtocolConfig, TlsKeysNeedTls) {
  const auto error = only_error(errors_of(toml_with("tls_ca_file = \"/ca.pem\"")),
                                "upstreams.backend.tls_ca_file", 3);
  EXPECT_THAT(error.message, HasSubstr("needs tls = true"));
  (void)only_error(errors_of(toml_with("tls_verify = false")), "upstreams.backend.tls_verify", 3);
}

TEST(UpstreamProtocolConfig, H2IsAlwaysTlsAndH2cNever) {
  (void)only_error(errors_of(toml_with("protocol = \"h2\"\ntls = false")), "upstreams.backend.tls",
                   4);
  (void)only_error(errors_of(toml_with("protocol = \"h2c\"\ntls = true")), "upstreams.backend.tls",
                   4);
}

TEST(UpstreamProtocolConfig, AClientCertificateNeedsItsKey) {
  const auto error = only_error(errors_of(toml_with("tls = true\ntls_client_cert = \"/c.pem\"")),
                                "upstreams.backend.tls_client_cert", 4);
  EXPECT_THAT(error.message, HasSubstr("tls_client_key"));
  (void)only_error(errors_of(toml_with("tls = true\ntls_client_key = \"/k.pem\"")),
                   "upstreams.backend.tls_client_key", 4);
}

TEST(UpstreamProtocolConfig, MaxH2ConnectionsIsBounded) {
  (void)only_error(errors_of(toml_with("max_h2_connections = 0")),
                   "upstreams.backend.max_h2_connections", 3);
}

TEST(UpstreamProtocolConfig, RelativeTlsPathsAreTakenFromTheConfigDirectory) {
  const Config config = load_string(toml_with("tls = true\ntls_ca_file = \"certs/ca.pem\""),
                                    "/etc/levee/levee.toml", {});
  EXPECT_EQ(config.upstreams.at(0).tls.ca_file, "/etc/levee/certs/ca.pem");
}

class TlsFiles : public ::testing::Test {
 protected:
  TlsFiles()
      : directory_(std::filesystem::temp_directory_path() /
                   ("levee-tls-config-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(directory_);
  }
  ~TlsFiles() override { std::filesystem::remove_all(directory_); }

  std::string file(const std::string& name, const std::string& contents) {
    const auto path = (directory_ / name).string();
    std::ofstream(path) << contents;
    return path;
  }

  std::filesystem::path directory_;
};

TEST_F(TlsFiles, AMissingCaFileIsReportedAtItsKeyByCheckAndServe) {
  const Config config =
      load(toml_with("tls = true\ntls_ca_file = \"" + (directory_ / "absent.pem").string() + "\""));
  for (const PreflightFor purpose : {PreflightFor::check, PreflightFor::serve}) {
    const auto error = only_error(preflight(config, purpose), "upstreams.backend.tls_ca_file", 4);
    EXPECT_THAT(error.message, HasSubstr("cannot read"));
    EXPECT_THAT(error.message, HasSubstr("absent.pem"));
  }
}

TEST_F(TlsFiles, ACaFileThatIsNoPemIsReported) {
  const auto path = file("garbage.pem", "not a certificate\n");
  const Config config = load(toml_with("tls = true\ntls_ca_file = \"" + path + "\""));
  const auto error =
      only_error(preflight(config, PreflightFor::check), "upstreams.backend.tls_ca_file", 4);
  EXPECT_THAT(error.message, HasSubstr("no usable PEM certificate"));
}

TEST_F(TlsFiles, AClientCertificateThatIsNoPemIsReported) {
  const auto cert =
      file("cert.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  const auto key = file("key.pem", "nothing\n");
  const Config config = load(toml_with("tls = true\ntls_client_cert = \"" + cert +
                                       "\"\ntls_client_key = \"" + key + "\""));
  const auto error =
      only_error(preflight(config, PreflightFor::check), "upstreams.backend.tls_client_cert", 4);
  EXPECT_THAT(error.message, HasSubstr("no PEM certificate chain"));
}

TEST_F(TlsFiles, TheSystemStoreNeedsNoFile) {
  const Config config = load(toml_with("protocol = \"h2\""));
  EXPECT_TRUE(preflight(config, PreflightFor::check).empty())
      << describe(preflight(config, PreflightFor::check));
}

}  // namespace
}  // namespace levee::config
