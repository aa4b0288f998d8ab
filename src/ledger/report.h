// `hybridgate report`: aggregates ledger rows per route, tier, provider, model, key or team, and
// renders the result as a table, CSV or JSON. Aggregate() is pure arithmetic over the rows, so
// every number in a report can be recomputed from the rows it was built from:
//   - cost is the sum of the rows' cost_usd (in row order); blended cost per 1M tokens is
//     cost / (input + output tokens) x 1e6 (0 when there are no tokens);
//   - shares are this group's requests (cost) over all requests (cost) in the report;
//   - p50/p95 latency use the nearest-rank method: the value at 1-based rank ceil(p/100 x n) of
//     the sorted latencies, always an observed latency, never interpolated;
//   - a request is an error when its status is not 2xx (0, a client that went away, included);
//     rates are counts over requests.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.h"
#include "common/result.h"
#include "ledger/row.h"

namespace hybridgate::ledger {

enum class GroupBy { kRoute, kTier, kProvider, kModel, kKey, kTeam };

Result<GroupBy> ParseGroupBy(std::string_view name);  // "route", "tier", ...
std::string_view GroupByName(GroupBy by);

// "7d", "24h", "30m", "90s", "2w" -> milliseconds. Errors name the accepted forms.
Result<int64_t> ParseDuration(std::string_view text);

struct GroupStats {
  std::string name;  // the group's value; "(none)" for rows where it is empty; "TOTAL" for totals
  int64_t requests = 0;
  int64_t input_tokens = 0;  // cached ones included
  int64_t cached_input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t estimated_usage = 0;  // rows whose token counts are estimates
  double cost_usd = 0;
  double usd_per_mtok = 0;  // blended
  double request_share = 0;
  double cost_share = 0;
  int64_t p50_latency_ms = 0;
  int64_t p95_latency_ms = 0;
  int64_t errors = 0;
  int64_t fallbacks = 0;
  int64_t escalations = 0;
  double error_rate = 0;
  double fallback_rate = 0;
  double escalation_rate = 0;

  int64_t total_tokens() const { return input_tokens + output_tokens; }
};

struct Report {
  GroupBy by = GroupBy::kRoute;
  GroupStats total;
  std::vector<GroupStats> groups;  // by cost, then requests (both descending), then name
};

Report Aggregate(std::span<const Row> rows, GroupBy by);

// Nearest-rank percentile (see above) of `values`, which it sorts; 0 when empty. p in (0, 100].
int64_t NearestRankPercentile(std::vector<int64_t>& values, int p);

// Rows with time_ms >= since_ms from a SQLite ledger file or a PostgreSQL DSN (IsPostgresDsn).
Result<std::vector<Row>> LoadRows(const std::string& path_or_dsn, int64_t since_ms);

// Renderers. The table and JSON include the totals; CSV has one line per group and no total
// line, so that summing a column in a spreadsheet gives the total.
std::string RenderTable(const Report& report);
std::string RenderCsv(const Report& report);
std::string RenderJson(const Report& report);

}  // namespace hybridgate::ledger
