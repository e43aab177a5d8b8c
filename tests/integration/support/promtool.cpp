#include "support/promtool.hpp"

#include <sys/wait.h>

#include <cstdio>

namespace levee::testing {

std::pair<int, std::string> promtool_check_metrics(const TempDir& dir, const std::string& text) {
  const auto input = write_file(dir.path() / "metrics.txt", text);
  const std::string command = "/usr/bin/promtool check metrics < '" + input + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string output;
  char buffer[512];
  while (auto n = std::fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace levee::testing
