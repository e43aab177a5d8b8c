#pragma once
// A running levee in front of a running levee-upstream, both on ephemeral 127.0.0.1 ports,
// for integration tests. The config is written to a fresh temporary directory; `extra`
// TOML is appended to the [server] table, `routes` replaces the default route set.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace levee::testing {

struct LeveeOptions {
  std::string server_extra;    // more keys for [server]
  std::string upstream_extra;  // more keys for [upstreams.legacy]
  std::string log_extra;       // keys for [log]
  // Routes, as TOML; the default is one catch-all pass route named "all".
  std::string routes = "[[routes]]\nname = \"all\"\npath_prefix = \"/\"\nupstream = \"legacy\"\n";
  std::string upstream_address;  // default: the fixture's levee-upstream
  unsigned workers = 2;
};

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

[[nodiscard]] std::string write_file(const std::filesystem::path& path, const std::string& text);

class LeveeProcess {
 public:
  LeveeProcess(const std::string& config_path, EnvList env = {});
  Process process;
  std::uint16_t port = 0;
  std::uint16_t admin_port = 0;
};

[[nodiscard]] std::string make_config(const LeveeOptions& options,
                                      const std::string& upstream_address);

// levee-upstream plus a levee in front of it, configured by `options`.
struct Stack {
  explicit Stack(const LeveeOptions& options = {}, std::vector<std::string> upstream_args = {},
                 EnvList env = {});
  TempDir dir;
  UpstreamProcess upstream;
  std::string config_path;
  LeveeProcess levee;

  [[nodiscard]] std::uint16_t port() const noexcept { return levee.port; }
  [[nodiscard]] std::uint16_t admin_port() const noexcept { return levee.admin_port; }
};

}  // namespace levee::testing
