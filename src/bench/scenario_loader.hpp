#pragma once
// Loads a scenario from TOML (format: bench/README.md) and applies command-line overrides
// (`--set phase.0.rate=2000`, dotted keys, array elements by index) before validating, so an
// override is checked exactly like the file. Every problem is reported as a
// config::ConfigError naming the file (or the override), line, column and key; all of them
// are collected and thrown together as config::ConfigErrors. Start-up only.

#include <string>
#include <string_view>
#include <vector>

#include "bench/scenario.hpp"

namespace levee::bench {

[[nodiscard]] Scenario load_scenario_file(const std::string& path,
                                          const std::vector<std::string>& overrides = {});
[[nodiscard]] Scenario load_scenario_text(std::string_view toml_text, const std::string& source,
                                          const std::vector<std::string>& overrides = {});

}  // namespace levee::bench
