// `hybridgate quality report`: quality per route and shadow deployment (report.h).
//   hybridgate quality report --config FILE [--route R] [--since 7d|24h|30m]
//                             [--format table|json|csv]
// Reads the comparison store and the feedback from the config's `quality:` section (its ledger's
// PostgreSQL database when quality.backend is unset and the ledger is there; a relative SQLite
// path is relative to the config file's directory, as for the gateway) and the answered requests
// per route from its `ledger:` section. Without --since every row is included. Exit 0 on success,
// 2 on bad input (options, an unreadable config or store), with the reason on stderr.
//
// `hybridgate quality export`: a route's stored comparisons as a fine-tuning set (export.h).
//   hybridgate quality export --config FILE --route R [--since 30d] [--format openai-jsonl]
//                             [--out FILE]
// One JSON line per exportable comparison on stdout or in --out (written after every row was
// read, so an export that fails leaves no file); a summary on stderr: what was written, what was
// skipped and why, and one line per deployment whose answers were refused (its model's
// outputs may not be used for training) naming it and the reason. Exit 0 when nothing was
// refused, 1 when answers were refused (the others are written), 2 on bad input (options, an
// unreadable config or store, a route the config does not have, an unwritable --out).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "ledger/cli.h"
#include "quality/store.h"

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

struct ExportOptions {
  std::string config;  // the gateway config file
  std::string route;   // required
  std::string since;   // "" every row
  std::string format = "openai-jsonl";
  std::string out;      // "" stdout
  int64_t now_ms = -1;  // "now" for --since; -1 = the system clock (tests pin it)
};

// Adds `quality` (with `quality report` and `quality export`) to `root`. Callbacks set
// `exit_code`, which must outlive root.parse().
CLI::App* AddQualityCommand(CLI::App& root, int& exit_code);

// The commands' bodies, for tests: return the exit code.
int RunQualityReport(const ReportOptions& options, std::ostream& out, std::ostream& err);
int RunQualityExport(const ExportOptions& options, std::ostream& out, std::ostream& err);

// The first row time a --since window ("7d", "24h", "30m"; "" every row) admits, counted back
// from `now_ms` (-1: the system clock).
Result<int64_t> WindowStartMs(const std::string& since, int64_t now_ms = -1);

// The comparisons (time_ms >= since_ms) of the store `config` names (store_config.h); an error
// that says what to do when it has no dsn or its SQLite file does not exist yet.
Result<std::vector<StoredComparison>> LoadConfiguredComparisons(const config::Config& config,
                                                                int64_t since_ms);

// `hybridgate report`'s quality columns (ledger/cli.h's join seam; the binary passes this to
// ledger::AddReportCommand): with --by route, each route's shadow deployments as
// ReportJoinColumns (report.h) lays them out; nothing for another grouping or when the config's
// quality store does not exist yet.
Result<std::optional<ledger::JoinedColumns>> JoinQualityColumns(
    const ledger::ReportJoinInput& input);

}  // namespace hybridgate::quality
