#include "levee_fixture.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <stdexcept>

#include "support/ports.hpp"

namespace levee::testing {

TempDir::TempDir() {
  std::random_device rd;
  auto base = std::filesystem::temp_directory_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = base / fmt::format("levee-test-{}-{:x}", ::getpid(), rd());
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
  return path.string();
}

std::string make_config(const LeveeOptions& o, const std::string& upstream_address) {
  return fmt::format(
      "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nworkers = {}\n"
      "{}\n"
      "[log]\nlevel = \"info\"\n{}\n"
      "[upstreams.legacy]\naddress = \"{}\"\nconnect_timeout = \"1s\"\n"
      "{}\n{}",
      o.workers, o.server_extra, o.log_extra,
      o.upstream_address.empty() ? upstream_address : o.upstream_address, o.upstream_extra,
      o.routes);
}

LeveeProcess::LeveeProcess(const std::string& config_path, EnvList env)
    : process(binary_path("levee"), {"serve", "--config", config_path}, std::move(env)) {
  auto line = process.wait_for_line("levee ready", std::chrono::seconds(15));
  port = port_from_listen_line(line, "listen=");
  admin_port = port_from_listen_line(line, "admin=");
}

Stack::Stack(const LeveeOptions& options, std::vector<std::string> upstream_args, EnvList env)
    : upstream(std::move(upstream_args)),
      config_path(write_file(dir.path() / "levee.toml", make_config(options, upstream.address()))),
      levee(config_path, std::move(env)) {}

}  // namespace levee::testing
