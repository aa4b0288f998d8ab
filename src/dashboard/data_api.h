// The dashboard's data API: JSON documents computed from the ledger with bounded statements
// (aggregates over an indexed time window, at most ~120 time buckets, top-N groups), served at
// /admin/api/… (dashboard.h) for the pages and for scripts. The numbers follow `hybridgate report`
// (ledger/report.h) and `hybridgate audit` (ledger/audit.h) over the same rows:
//   - requests, tokens and cost are the rows' sums; blended $/1M tokens is cost over input plus
//     output tokens; an error is a status outside 2xx (0 included);
//   - p50/p95 latency and time to first token are nearest-rank over the window's rows (time to
//     first token over streamed rows only);
//   - data-protection counts are per data class and residency action, like the audit's groups.
// Documented for scripts in docs/DASHBOARD.md. Pure functions of the reader's answers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "dashboard/ledger_reader.h"

namespace hybridgate::dashboard {

// A time window ending now: [until_ms - span, until_ms).
struct Window {
  std::string label;  // as asked, e.g. "24h"
  int64_t since_ms = 0;
  int64_t until_ms = 0;
  int64_t bucket_ms = 0;  // the series' step: a round size giving at most ~120 buckets
};

// `text`: "15m", "1h", "24h", "7d", "30d" … (common/duration.h's forms), from 1 minute to 400
// days; empty is "24h". The error names the accepted forms.
Result<Window> ParseWindow(std::string_view text, int64_t now_ms);

// GET /admin/api/overview: totals, cost today / 7 days / 30 days, splits by zone, tier and
// model (top 20 by cost), and a series per bucket split by zone.
Result<std::string> OverviewJson(LedgerReader& reader, const Window& window, int64_t now_ms);

// GET /admin/api/protection: requests per data class and residency action, finding types (never
// values), the requests of class >= 3 whose data reached an external provider (the audit
// verdict) and those above the provider's max_data_class (the audit's violations).
Result<std::string> ProtectionJson(LedgerReader& reader, const Window& window);

}  // namespace hybridgate::dashboard
