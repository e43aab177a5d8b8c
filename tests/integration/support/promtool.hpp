#pragma once
// `promtool check metrics` (Debian's prometheus package) over a /metrics body: the linter an
// operator's CI runs on an exporter, so the tests hold levee's exposition to it.

#include <string>
#include <utility>

#include "levee_fixture.hpp"

namespace levee::testing {

// Runs `promtool check metrics` on `text` (written to a file in `dir`); returns its exit
// status (-1 when it could not run) and what it printed, stdout and stderr together.
[[nodiscard]] std::pair<int, std::string> promtool_check_metrics(const TempDir& dir,
                                                                 const std::string& text);

}  // namespace levee::testing
