// `hybridgate quality report`: quality per route and shadow deployment (report.h).
//   hybridgate quality report --config FILE [--route R] [--since 7d|24h|30m]
//                             [--format table|json|csv]
// Reads the comparison store and the feedback from the config's `quality:` section (its ledger's
// PostgreSQL database when quality.backend is unset and the ledger is there; a relative SQLite
// path is relative to the config file's directory, as for the gateway) and the answered requests
// per route from its `ledger:` section. Without --since every row is included. Exit 0 on success,
// 2 on bad input (options, an unreadable config or store), with the reason on stderr.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

namespace CLI {
class App;
}

namespace hybridgate::quality {

struct ReportOptions {
  std::string config;  // the gateway config file
  std::string route;   // "" every route
  std::string since;   // "" every row
  std::string format = "table";
  int64_t now_ms = -1;  // "now" for --since; -1 = the system clock (tests pin it)
};

// Adds `quality` (with `quality report`) to `root`. Callbacks set `exit_code`, which must
// outlive root.parse().
CLI::App* AddQualityCommand(CLI::App& root, int& exit_code);

// The report command's body, for tests: returns the exit code.
int RunQualityReport(const ReportOptions& options, std::ostream& out, std::ostream& err);

}  // namespace hybridgate::quality
