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
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "dashboard/ledger_reader.h"
#include "limits/keys.h"

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

// What the documents hold, whichever source computed them: the ledger's SQL (below) or the
// dashboard's copy of recent rows in memory (row_cache.h).
struct Sums {
  int64_t requests = 0, input_tokens = 0, cached_input_tokens = 0, output_tokens = 0;
  int64_t errors = 0, fallbacks = 0, escalations = 0, estimated = 0, streamed = 0;
  double cost_usd = 0;
};
struct Group {
  std::string name;  // "(none)" for rows without one
  int64_t requests = 0, tokens = 0, errors = 0;
  double cost_usd = 0;
};
struct Point {
  int64_t requests = 0, self_hosted = 0, external = 0, tokens = 0, errors = 0;
  double cost_usd = 0;
};
struct Overview {
  Sums totals;
  int64_t p50_latency_ms = 0, p95_latency_ms = 0, p50_ttft_ms = 0, p95_ttft_ms = 0;
  double spend_today = 0, spend_7d = 0, spend_30d = 0;
  std::vector<Group> zones, tiers, models;  // by cost, then requests, then name
  std::map<int64_t, Point> series;          // bucket start -> point, every bucket of the window
};
struct ClassRow {
  int64_t data_class = 0, requests = 0, none = 0, route = 0, redact = 0, block = 0;
  int64_t self_hosted = 0, external = 0;
};
struct Protection {
  std::vector<ClassRow> classes;                   // by data class
  std::map<std::string, int64_t> findings;         // finding type -> requests
  int64_t reached_external = 0;                    // class >= 3, not redacted, an external attempt
  int64_t violations = 0, violating_requests = 0;  // as `hybridgate audit` counts them
  bool truncated = false;  // over kMaxGroups distinct finding sets or trails (SQL only)

  // Counts `n` requests with the finding set `set` ("credit_card,email") once per type.
  void AddFindings(std::string_view set, int64_t n);
  // Counts `n` requests of `data_class` whose upstream attempts were `egress` (or, when that is
  // "", the answering provider's fields), by the audit's rules (JudgeTrail below).
  void AddTrail(int64_t data_class, std::string_view egress, std::string_view provider,
                std::string_view zone, int64_t max_class, int64_t n);
};

// Use per virtual key (or team): the window's requests, cost and 429s, and the spend since the
// start of the current UTC day and month (the budget windows, limits/window.h).
struct KeyUse {
  std::string key, team;  // key: the ledger's key column (the key's name, else its id)
  int64_t requests = 0, rate_limited = 0, budget_exceeded = 0, unauthenticated = 0;
  double cost_usd = 0, spent_today = 0, spent_month = 0;
};
struct KeysUse {
  std::vector<KeyUse> keys;   // by cost, then requests, then key
  std::vector<KeyUse> teams;  // key empty
};

inline constexpr size_t kTopModels = 20;
inline constexpr size_t kMaxGroups = 5000;

// The groups' order and the top-N cut: the first `limit` by cost, then requests, then name;
// the rest summed as "(others)".
void RankGroups(std::vector<Group>& groups, size_t limit);
// Empty buckets for the whole window, so that a chart's time axis is true.
void AddEmptyBuckets(std::map<int64_t, Point>& series, const Window& w);
// One egress trail's verdict (ledger/audit.h's rules): whether a request of `data_class` with it
// reached an external provider, and how many of its attempts were above their provider's class.
// `egress` "" falls back to the answering provider's fields.
struct TrailVerdict {
  bool external = false;
  int64_t over = 0;
};
TrailVerdict JudgeTrail(int64_t data_class, std::string_view egress, std::string_view provider,
                        std::string_view zone, int64_t max_class);

// The ledger's error_code for `code` (Error::CodeName).
std::string CodeName(ErrorCode code);
// The start of the UTC day and of the UTC month `now_ms` falls in.
int64_t DayStartMs(int64_t now_ms);
int64_t MonthStartMs(int64_t now_ms);
// Drops entries with no use in the window or the month, and sorts the rest.
void SortKeys(KeysUse& use);

// From the ledger's SQL, within the window.
Result<Overview> OverviewFromLedger(LedgerReader& reader, const Window& window, int64_t now_ms);
Result<Protection> ProtectionFromLedger(LedgerReader& reader, const Window& window);
Result<KeysUse> KeysFromLedger(LedgerReader& reader, const Window& window, int64_t now_ms);

// The JSON documents. `source`: "sqlite" | "postgres"; `from`: "memory" | "ledger".
std::string RenderOverview(const Overview& o, const Window& w, std::string_view source,
                           std::string_view from);
std::string RenderProtection(const Protection& p, const Window& w, std::string_view source,
                             std::string_view from);

// GET /admin/api/keys: each configured key (`configured`, from the key store; never a secret)
// with its budget and what it spent in the budget's current window, joined with its use.
std::string RenderKeys(const KeysUse& use, std::span<const limits::KeyInfo> configured,
                       const Window& w, int64_t now_ms, std::string_view source,
                       std::string_view from);

// GET /admin/api/overview and /protection straight from the ledger's SQL.
Result<std::string> OverviewJson(LedgerReader& reader, const Window& window, int64_t now_ms);
Result<std::string> ProtectionJson(LedgerReader& reader, const Window& window);

}  // namespace hybridgate::dashboard
