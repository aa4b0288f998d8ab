// RowCache: the ledger's rows of the last 32 days (a 30-day window and a calendar month), held in
// memory as compact records (80 bytes each; names, tiers, zones, finding sets and egress trails
// interned), so that the dashboard's documents are computed in milliseconds on a ledger of millions
// of rows — a pass over the window's rows, exact: the same sums, nearest-rank percentiles and audit
// rules as the SQL in data_api.h and as `hybridgate report` and `audit`.
//
// Filled incrementally by commit order: each Refresh reads the rows whose seq is above the last
// one read (the ledger's seq index; a row committed late, such as a long stream's, lands in its
// own minute whenever it arrives), and drops what has aged out of the span. At most `max_rows`
// rows are held: past that the oldest minutes go, and Covers() says which windows are still
// whole (the others are computed by SQL). Spend per minute is kept for the whole span whatever
// the cap, so that the spend totals stay whole. Used by one thread (the dashboard's).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "dashboard/data_api.h"
#include "dashboard/ledger_reader.h"

namespace hybridgate::dashboard {

class RowCache {
 public:
  static constexpr int64_t kSpanMs = 32LL * 86'400'000;
  static constexpr size_t kDefaultMaxRows = 2'000'000;
  static constexpr size_t kMaxNames = 100'000;  // distinct strings; more read as "(others)"

  explicit RowCache(size_t max_rows = kDefaultMaxRows);

  // Reads what was committed since the last call, in batches; keeps what it read on error.
  Status Refresh(LedgerReader& reader, int64_t now_ms);
  // Whether every row from `since_ms` on is held (after at least one Refresh).
  bool Covers(int64_t since_ms) const;
  size_t rows() const { return rows_; }
  // Whether a Refresh has completed (the span is read whole).
  bool ready() const { return loaded_since_ != INT64_MAX; }

  Overview MakeOverview(const Window& w, int64_t now_ms) const;
  Protection MakeProtection(const Window& w) const;
  // Needs Covers(min(w.since_ms, MonthStartMs(now_ms))).
  KeysUse MakeKeys(const Window& w, int64_t now_ms) const;

 private:
  struct Compact {
    int64_t time_ms = 0;
    double cost_usd = 0;
    int32_t input_tokens = 0, cached_input_tokens = 0, output_tokens = 0;
    int32_t latency_ms = 0, ttft_ms = -1;
    uint32_t zone = 0, tier = 0, model = 0, action = 0, findings = 0, trail = 0;
    uint32_t key = 0, team = 0, error = 0;
    int16_t status = 0;
    uint8_t data_class = 0;
    uint8_t flags = 0;  // kFallback | kEscalated | kEstimated | kStream
  };
  static constexpr uint8_t kFallback = 1, kEscalated = 2, kEstimated = 4, kStream = 8;
  struct Trail {
    std::string egress, provider, zone;
    int64_t max_class = 0;
  };

  uint32_t Intern(std::string_view s);
  uint32_t InternTrail(Trail t);
  void Evict(int64_t now_ms);
  // The cost of the rows from `since_ms` on (exact unless its minute was evicted for the cap).
  double CostSince(int64_t since_ms) const;

  std::vector<std::string> names_;  // id -> string; 0 is ""
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<Trail> trails_;  // id -> trail; 0 is "none checked"
  std::map<std::string, uint32_t, std::less<>> trail_ids_;
  std::map<int64_t, std::vector<Compact>> minutes_;  // minute start -> its rows
  std::map<int64_t, double> cost_by_minute_;         // the whole span, cap or not
  size_t rows_ = 0;
  const size_t max_rows_;
  int64_t last_seq_ = 0;
  int64_t loaded_since_ = INT64_MAX;  // no row before this is held; INT64_MAX: never refreshed
  int64_t evicted_until_ = 0;         // rows before this were dropped for the cap
  uint32_t none_id_, route_id_, redact_id_, block_id_, self_hosted_id_, external_id_;
  uint32_t rate_limited_id_, budget_exceeded_id_, unauthenticated_id_;
};

}  // namespace hybridgate::dashboard
