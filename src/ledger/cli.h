// `hybridgate report`: the cost report over the ledger; `hybridgate audit`: the data residency
// report and the hash chain check.
//   hybridgate report (--ledger PATH|DSN | --config FILE) [--since 7d|24h|30m]
//                     [--by route|tier|provider|model|key|team] [--format table|csv|json]
// --config reads the ledger location from the config's `ledger:` section (a relative sqlite path
// is relative to the config file's directory, as it is for the gateway). Without --since every row
// is included. Exit 0 on success, 2 on bad input (options, missing or unreadable ledger, a join
// that fails), with the reason on stderr.
//
//   hybridgate audit (--config FILE | --ledger PATH|DSN) [--since 30d] [--format table|json]
// Requests per data class, zone and provider, and whether any request reached a provider whose
// max_data_class was below its data class (audit.h). Exit 0 with "no violations", 1 when there
// are violations (each listed with its seq and request id), 2 on bad input.
//
//   hybridgate audit verify (--config FILE | --ledger PATH|DSN)
//                       [--anchor FILE]
// Recomputes the hash chain (chain.h) over every row in commit order and compares its head with
// the anchor (anchor.h). Exit 0 with one line "N rows, chain intact; ...", 1 with "chain broken
// at seq S (id I): what is wrong" (or "chain broken after seq S: ..." for rows cut off the end),
// 2 on bad input.
//
// The report's join seam: columns another library knows per group (the quality library: shadow
// comparisons per route) are joined onto the report's groups by name. The ledger cannot depend
// on those libraries (they depend on it), so the binary, which links both, passes their
// ReportJoin to AddReportCommand (src/main/main.cc). A join runs only with --config. The table
// and the CSV gain its columns after the ledger's; a group with several joined lines (a route
// with two shadow deployments) gets the further ones right below its own, with the ledger's
// cells empty (in the CSV: the group's name, then empty cells, so summing a ledger column still
// gives the total). The JSON gains one key, the join's name, mapping each group to its lines.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "ledger/report.h"

namespace CLI {
class App;
}

namespace hybridgate::ledger {

struct ReportJoinInput {
  std::string config;    // the --config file
  int64_t since_ms = 0;  // the --since window's first row time; 0 every row
  GroupBy by = GroupBy::kRoute;
};

// One joined line: its cells for the table and the CSV (one per header), and a JSON object.
struct JoinedLine {
  std::vector<std::string> table_cells;
  std::vector<std::string> csv_cells;
  std::string json;
};

struct JoinedColumns {
  std::string name;  // the JSON key ("quality")
  std::vector<std::string> table_headers;
  std::vector<std::string> csv_headers;
  std::map<std::string, std::vector<JoinedLine>, std::less<>> groups;  // by group name
};

// What another library joins onto a report: nullopt when it has nothing to join (e.g. no store,
// or a grouping it does not know), which leaves the report as it is.
using ReportJoin = std::function<Result<std::optional<JoinedColumns>>(const ReportJoinInput&)>;

struct ReportOptions {
  std::string ledger;  // SQLite file or PostgreSQL DSN
  std::string config;  // gateway config file (its `ledger:` section)
  std::string since;   // "" = all rows
  std::string by = "route";
  std::string format = "table";
  int64_t now_ms = -1;  // "now" for --since; -1 = the system clock (tests pin it)
  ReportJoin join;      // empty: none
};

// Adds `report` to `root`, with `join`'s columns when given. Its callback sets `exit_code`,
// which must outlive root.parse().
CLI::App* AddReportCommand(CLI::App& root, int& exit_code, ReportJoin join = {});

// The command's body, for tests: returns the exit code.
int RunReport(const ReportOptions& options, std::ostream& out, std::ostream& err);

struct AuditOptions {
  std::string ledger;  // SQLite file or PostgreSQL DSN
  std::string config;  // gateway config file (its `ledger:` section)
  std::string since;   // "" = all rows (audit only; verify always checks every row)
  std::string anchor;  // verify: the chain's anchor file (anchor.h); "" = the default
  std::string format = "table";
  int64_t now_ms = -1;  // "now" for --since; -1 = the system clock (tests pin it)
};

// Adds `audit` and `audit verify` to `root`; their callbacks set `exit_code`.
CLI::App* AddAuditCommand(CLI::App& root, int& exit_code);

// The commands' bodies, for tests: return the exit code.
int RunAudit(const AuditOptions& options, std::ostream& out, std::ostream& err);
int RunAuditVerify(const AuditOptions& options, std::ostream& out, std::ostream& err);

}  // namespace hybridgate::ledger
