#pragma once
// How a run is reported: a human summary (several lines) and one JSON object on one line
// (the fields bench/README.md lists; bench/plot.py and bench/side_by_side.sh read them).

#include <string>

#include "bench/run_result.hpp"

namespace levee::bench {

struct ReportContext {
  std::string label;     // who was measured: "levee", "nginx", a policy name...
  std::string scenario;  // the scenario's name
  std::string target;    // the target URL
};

[[nodiscard]] std::string format_summary(const RunResult& result, const ReportContext& context);
[[nodiscard]] std::string format_json_line(const RunResult& result, const ReportContext& context);

}  // namespace levee::bench
