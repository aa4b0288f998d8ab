#include "dashboard/data_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "common/duration.h"
#include "common/json_writer.h"
#include "ledger/audit.h"
#include "limits/window.h"

namespace hybridgate::dashboard {
namespace {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kDay = 24 * 60 * kMinute;
constexpr int64_t kMaxBuckets = 120;

// Every statement reads this window: ?1 = since, ?2 = until (the time_ms index).
#define HG_WINDOW " FROM requests WHERE time_ms >= ?1 AND time_ms < ?2"
#define HG_ERROR "CASE WHEN status < 200 OR status >= 300 THEN 1 ELSE 0 END"
// `auto& name = *(expr)`, or return its error.
#define HG_TRY_ASSIGN(name, expr)                                    \
  auto name##_result = (expr);                                       \
  if (!name##_result) return Fail(std::move(name##_result.error())); \
  auto& name = *name##_result

double Rate(int64_t n, int64_t of) { return of > 0 ? static_cast<double>(n) / of : 0.0; }

double PerMtok(double cost, int64_t tokens) {
  return tokens > 0 ? cost / static_cast<double>(tokens) * 1e6 : 0.0;
}

// The nearest-rank percentile (ledger/report.h) of `column` over the window's `n` rows that
// match `extra`.
Result<int64_t> Percentile(LedgerReader& r, const Window& w, const char* column, const char* extra,
                           int64_t n, int p) {
  if (n <= 0) return 0;
  const int64_t rank = std::min(n, std::max<int64_t>(1, (p * n + 99) / 100));
  const std::string sql =
      fmt::format("SELECT {0}" HG_WINDOW "{1} ORDER BY {0} LIMIT 1 OFFSET ?3", column, extra);
  const std::array<int64_t, 3> params = {w.since_ms, w.until_ms, rank - 1};
  HG_TRY_ASSIGN(rows, r.Query(sql, params, 1));
  return rows.empty() ? 0 : CellInt(rows[0][0]);
}

// Requests, tokens, cost and errors per value of `column` (a fixed column name, never input).
Result<std::vector<Group>> GroupBy(LedgerReader& r, const Window& w, const char* column,
                                   size_t limit) {
  const std::string sql = fmt::format(
      "SELECT {0}, COUNT(*), COALESCE(SUM(input_tokens + output_tokens), 0), "
      "COALESCE(SUM(cost_usd), 0), COALESCE(SUM(" HG_ERROR "), 0)" HG_WINDOW
      " GROUP BY {0} ORDER BY 4 DESC, 2 DESC, 1 LIMIT {1}",
      column, kMaxGroups + 1);
  const std::array<int64_t, 2> params = {w.since_ms, w.until_ms};
  HG_TRY_ASSIGN(rows, r.Query(sql, params, kMaxGroups + 1));
  std::vector<Group> out;
  for (const Cells& c : rows) {
    out.push_back({c[0].empty() ? "(none)" : c[0], CellInt(c[1]), CellInt(c[2]), CellInt(c[4]),
                   CellDouble(c[3])});
  }
  RankGroups(out, limit);
  return out;
}

void WriteGroups(JsonWriter& j, std::string_view key, const std::vector<Group>& groups,
                 const Sums& total) {
  j.Key(key).BeginArray();
  for (const Group& g : groups) {
    j.BeginObject()
        .Field("name", g.name)
        .Field("requests", g.requests)
        .Field("request_share", Rate(g.requests, total.requests))
        .Field("total_tokens", g.tokens)
        .Field("cost_usd", g.cost_usd)
        .Field("cost_share", total.cost_usd > 0 ? g.cost_usd / total.cost_usd : 0.0)
        .Field("usd_per_mtok", PerMtok(g.cost_usd, g.tokens))
        .Field("errors", g.errors)
        .EndObject();
  }
  j.EndArray();
}

void WriteWindow(JsonWriter& j, const Window& w, std::string_view source, std::string_view from) {
  j.Key("window")
      .BeginObject()
      .Field("label", w.label)
      .Field("since_ms", w.since_ms)
      .Field("until_ms", w.until_ms)
      .Field("bucket_ms", w.bucket_ms)
      .EndObject()
      .Field("source", source)
      .Field("computed_from", from);
}

}  // namespace

Result<Window> ParseWindow(std::string_view text, int64_t now_ms) {
  if (text.empty()) text = "24h";
  auto span = ParseDurationMs(text);
  if (!span || *span < kMinute || *span > 400 * kDay) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("window: '{}' is not a span from 1m to 400d (write it like "
                                      "15m, 24h, 7d or 30d)",
                                      text),
                          "window"));
  }
  Window w{std::string(text), now_ms - *span, now_ms + 1, 0};
  // The smallest round step that keeps the series within kMaxBuckets points.
  constexpr std::array<int64_t, 11> kSteps = {kMinute,          5 * kMinute,       15 * kMinute,
                                              30 * kMinute,     60 * kMinute,      3 * 60 * kMinute,
                                              6 * 60 * kMinute, 12 * 60 * kMinute, kDay,
                                              2 * kDay,         7 * kDay};
  w.bucket_ms = kSteps.back();
  for (int64_t step : kSteps) {
    if (*span / step <= kMaxBuckets - 1) {
      w.bucket_ms = step;
      break;
    }
  }
  return w;
}

void RankGroups(std::vector<Group>& groups, size_t limit) {
  std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    if (a.cost_usd != b.cost_usd) return a.cost_usd > b.cost_usd;
    if (a.requests != b.requests) return a.requests > b.requests;
    return a.name < b.name;
  });
  if (groups.size() <= limit) return;
  Group rest{.name = "(others)"};
  for (size_t i = limit; i < groups.size(); ++i) {
    rest.requests += groups[i].requests;
    rest.tokens += groups[i].tokens;
    rest.errors += groups[i].errors;
    rest.cost_usd += groups[i].cost_usd;
  }
  groups.resize(limit);
  groups.push_back(std::move(rest));
}

void AddEmptyBuckets(std::map<int64_t, Point>& series, const Window& w) {
  for (int64_t b = w.since_ms / w.bucket_ms * w.bucket_ms; b < w.until_ms; b += w.bucket_ms) {
    series[b];
  }
}

TrailVerdict JudgeTrail(int64_t data_class, std::string_view egress, std::string_view provider,
                        std::string_view zone, int64_t max_class) {
  std::vector<ledger::EgressHop> hops = ledger::ParseEgress(egress);
  if (hops.empty()) {
    if (provider.empty()) return {};
    hops.push_back({std::string(provider), std::string(zone), max_class, ""});
  }
  TrailVerdict v;
  for (const ledger::EgressHop& hop : hops) {
    if (hop.result == "policy_blocked") continue;  // refused at the gate: nothing left
    v.external = v.external || hop.zone == "external";
    // An unknown ceiling (0) on an attempt that left is itself a failure to prove residency.
    if (hop.max_data_class == 0 || data_class > hop.max_data_class) ++v.over;
  }
  return v;
}

void Protection::AddFindings(std::string_view set, int64_t n) {
  while (!set.empty()) {
    const size_t comma = set.find(',');
    findings[std::string(set.substr(0, comma))] += n;
    set = comma == std::string_view::npos ? std::string_view() : set.substr(comma + 1);
  }
}

void Protection::AddTrail(int64_t data_class, std::string_view egress, std::string_view provider,
                          std::string_view zone, int64_t max_class, int64_t n) {
  const TrailVerdict v = JudgeTrail(data_class, egress, provider, zone, max_class);
  if (v.external && data_class >= 3) reached_external += n;
  violations += v.over * n;
  violating_requests += v.over > 0 ? n : 0;
}

Result<Overview> OverviewFromLedger(LedgerReader& r, const Window& w, int64_t now_ms) {
  const std::array<int64_t, 2> window = {w.since_ms, w.until_ms};
  HG_TRY_ASSIGN(totals,
                r.Query("SELECT COUNT(*), COALESCE(SUM(input_tokens), 0), "
                        "COALESCE(SUM(cached_input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
                        "COALESCE(SUM(cost_usd), 0), COALESCE(SUM(" HG_ERROR "), 0), "
                        "COALESCE(SUM(fallback), 0), COALESCE(SUM(escalated), 0), "
                        "COALESCE(SUM(usage_estimated), 0), "
                        "COALESCE(SUM(CASE WHEN stream = 1 AND ttft_ms >= 0 THEN 1 ELSE 0 END), "
                        "0)" HG_WINDOW,
                        window, 1));
  Overview o;
  Sums& t = o.totals;
  if (!totals.empty()) {
    const Cells& c = totals[0];
    t = {CellInt(c[0]), CellInt(c[1]), CellInt(c[2]), CellInt(c[3]), CellInt(c[5]),
         CellInt(c[6]), CellInt(c[7]), CellInt(c[8]), CellInt(c[9]), CellDouble(c[4])};
  }
  constexpr const char* kStreamed = " AND stream = 1 AND ttft_ms >= 0";
  HG_TRY_ASSIGN(p50, Percentile(r, w, "latency_ms", "", t.requests, 50));
  HG_TRY_ASSIGN(p95, Percentile(r, w, "latency_ms", "", t.requests, 95));
  HG_TRY_ASSIGN(ttft50, Percentile(r, w, "ttft_ms", kStreamed, t.streamed, 50));
  HG_TRY_ASSIGN(ttft95, Percentile(r, w, "ttft_ms", kStreamed, t.streamed, 95));
  o.p50_latency_ms = p50;
  o.p95_latency_ms = p95;
  o.p50_ttft_ms = ttft50;
  o.p95_ttft_ms = ttft95;

  // Spend today (UTC), over 7 and over 30 days, whatever the window.
  const int64_t today = now_ms / kDay * kDay;
  const std::array<int64_t, 4> spend_params = {today, now_ms - 7 * kDay, now_ms - 30 * kDay,
                                               now_ms + 1};
  HG_TRY_ASSIGN(spend, r.Query("SELECT COALESCE(SUM(CASE WHEN time_ms >= ?1 THEN cost_usd ELSE 0 "
                               "END), 0), COALESCE(SUM(CASE WHEN time_ms >= ?2 THEN cost_usd "
                               "ELSE 0 END), 0), COALESCE(SUM(cost_usd), 0) FROM requests WHERE "
                               "time_ms >= ?3 AND time_ms < ?4",
                               spend_params, 1));
  if (!spend.empty()) {
    o.spend_today = CellDouble(spend[0][0]);
    o.spend_7d = CellDouble(spend[0][1]);
    o.spend_30d = CellDouble(spend[0][2]);
  }
  HG_TRY_ASSIGN(zones, GroupBy(r, w, "provider_zone", 10));
  HG_TRY_ASSIGN(tiers, GroupBy(r, w, "tier", 50));
  HG_TRY_ASSIGN(models, GroupBy(r, w, "model", kTopModels));
  o.zones = std::move(zones);
  o.tiers = std::move(tiers);
  o.models = std::move(models);

  const std::array<int64_t, 3> series_params = {w.since_ms, w.until_ms, w.bucket_ms};
  HG_TRY_ASSIGN(series, r.Query("SELECT (time_ms / ?3) * ?3, provider_zone, COUNT(*), "
                                "COALESCE(SUM(input_tokens + output_tokens), 0), "
                                "COALESCE(SUM(cost_usd), 0), COALESCE(SUM(" HG_ERROR
                                "), 0)" HG_WINDOW " GROUP BY 1, 2 ORDER BY 1 LIMIT 2000",
                                series_params, 2000));
  AddEmptyBuckets(o.series, w);
  for (const Cells& c : series) {
    Point& p = o.series[CellInt(c[0])];
    const int64_t n = CellInt(c[2]);
    p.requests += n;
    if (c[1] == "self_hosted") p.self_hosted += n;
    if (c[1] == "external") p.external += n;
    p.tokens += CellInt(c[3]);
    p.cost_usd += CellDouble(c[4]);
    p.errors += CellInt(c[5]);
  }
  return o;
}

Result<Protection> ProtectionFromLedger(LedgerReader& r, const Window& w) {
  const std::array<int64_t, 2> window = {w.since_ms, w.until_ms};
  HG_TRY_ASSIGN(classes,
                r.Query("SELECT data_class, COUNT(*), "
                        "SUM(CASE WHEN residency_action = 'none' THEN 1 ELSE 0 END), "
                        "SUM(CASE WHEN residency_action = 'route' THEN 1 ELSE 0 END), "
                        "SUM(CASE WHEN residency_action = 'redact' THEN 1 ELSE 0 END), "
                        "SUM(CASE WHEN residency_action = 'block' THEN 1 ELSE 0 END), "
                        "SUM(CASE WHEN provider_zone = 'self_hosted' THEN 1 ELSE 0 END), "
                        "SUM(CASE WHEN provider_zone = 'external' THEN 1 ELSE 0 END)" HG_WINDOW
                        " GROUP BY data_class ORDER BY data_class LIMIT 100",
                        window, 100));
  HG_TRY_ASSIGN(sets, r.Query("SELECT finding_types, COUNT(*)" HG_WINDOW
                              " AND finding_types <> '' GROUP BY finding_types LIMIT 5001",
                              window, kMaxGroups + 1));
  // Every attempt that left, as the audit checks it (ledger/audit.h): grouped by trail, so that
  // the rows read are bounded by the distinct trails, not by the requests.
  HG_TRY_ASSIGN(trails, r.Query("SELECT data_class, egress, provider, provider_zone, "
                                "provider_max_class, COUNT(*)" HG_WINDOW
                                " AND residency_action NOT IN ('', 'redact') AND (egress <> '' OR "
                                "provider <> '') GROUP BY data_class, egress, provider, "
                                "provider_zone, provider_max_class LIMIT 5001",
                                window, kMaxGroups + 1));
  Protection p;
  for (const Cells& c : classes) {
    p.classes.push_back({CellInt(c[0]), CellInt(c[1]), CellInt(c[2]), CellInt(c[3]), CellInt(c[4]),
                         CellInt(c[5]), CellInt(c[6]), CellInt(c[7])});
  }
  for (size_t i = 0; i < sets.size() && i < kMaxGroups; ++i) {
    p.AddFindings(sets[i][0], CellInt(sets[i][1]));
  }
  for (size_t i = 0; i < trails.size() && i < kMaxGroups; ++i) {
    const Cells& c = trails[i];
    p.AddTrail(CellInt(c[0]), c[1], c[2], c[3], CellInt(c[4]), CellInt(c[5]));
  }
  p.truncated = sets.size() > kMaxGroups || trails.size() > kMaxGroups;
  return p;
}

std::string CodeName(ErrorCode code) { return std::string(MakeError(code, "").CodeName()); }

int64_t DayStartMs(int64_t now_ms) { return now_ms / kDay * kDay; }

int64_t MonthStartMs(int64_t now_ms) {
  using namespace std::chrono;
  const year_month_day ymd{floor<days>(sys_time<milliseconds>(milliseconds(now_ms)))};
  const sys_days first = ymd.year() / ymd.month() / 1;
  return duration_cast<milliseconds>(first.time_since_epoch()).count();
}

void SortKeys(KeysUse& use) {
  auto unused = [](const KeyUse& u) {
    return u.requests == 0 && u.spent_month == 0 && u.spent_today == 0;
  };
  std::erase_if(use.keys, unused);
  std::erase_if(use.teams, unused);
  auto order = [](const KeyUse& a, const KeyUse& b) {
    if (a.cost_usd != b.cost_usd) return a.cost_usd > b.cost_usd;
    if (a.requests != b.requests) return a.requests > b.requests;
    return std::tie(a.key, a.team) < std::tie(b.key, b.team);
  };
  std::sort(use.keys.begin(), use.keys.end(), order);
  std::sort(use.teams.begin(), use.teams.end(), order);
}

Result<KeysUse> KeysFromLedger(LedgerReader& r, const Window& w, int64_t now_ms) {
  // Over the window and the current month, whichever starts first; each sum picks its part.
  const int64_t month = MonthStartMs(now_ms), day = DayStartMs(now_ms);
  const std::array<int64_t, 5> params = {std::min(w.since_ms, month), now_ms + 1, w.since_ms, day,
                                         month};
  KeysUse use;
  for (const char* by : {"key_name", "team"}) {
    HG_TRY_ASSIGN(
        rows,
        r.Query(fmt::format("SELECT {0}, MAX(team), "
                            "SUM(CASE WHEN time_ms >= ?3 THEN 1 ELSE 0 END), "
                            "SUM(CASE WHEN time_ms >= ?3 THEN cost_usd ELSE 0 END), "
                            "SUM(CASE WHEN time_ms >= ?3 AND error_code = '{2}' THEN 1 ELSE 0 "
                            "END), "
                            "SUM(CASE WHEN time_ms >= ?3 AND error_code = '{3}' THEN 1 ELSE 0 "
                            "END), "
                            "SUM(CASE WHEN time_ms >= ?3 AND error_code = '{4}' THEN 1 ELSE 0 "
                            "END), "
                            "SUM(CASE WHEN time_ms >= ?4 THEN cost_usd ELSE 0 END), "
                            "SUM(CASE WHEN time_ms >= ?5 THEN cost_usd ELSE 0 END)" HG_WINDOW
                            " GROUP BY {0} LIMIT {1}",
                            by, kMaxGroups + 1, CodeName(ErrorCode::kRateLimited),
                            CodeName(ErrorCode::kBudgetExceeded),
                            CodeName(ErrorCode::kUnauthenticated)),
                params, kMaxGroups + 1));
    const bool teams = std::string_view(by) == "team";
    for (const Cells& c : rows) {
      if (teams && c[0].empty()) continue;
      KeyUse k{teams ? "" : c[0], c[1],          CellInt(c[2]),    CellInt(c[4]),
               CellInt(c[5]),     CellInt(c[6]), CellDouble(c[3]), CellDouble(c[7]),
               CellDouble(c[8])};
      (teams ? use.teams : use.keys).push_back(std::move(k));
    }
  }
  SortKeys(use);
  return use;
}

std::string RenderKeys(const KeysUse& use, std::span<const limits::KeyInfo> configured,
                       const Window& w, int64_t now_ms, std::string_view source,
                       std::string_view from) {
  std::string out;
  JsonWriter j(out);
  j.BeginObject();
  WriteWindow(j, w, source, from);
  auto budget = [&](const std::optional<limits::Budget>& b, const KeyUse* u) {
    if (!b) {
      j.Key("budget").Null();
      return;
    }
    const bool day = b->window == limits::BudgetWindow::kDay;
    const double spent = u ? (day ? u->spent_today : u->spent_month) : 0.0;
    j.Key("budget")
        .BeginObject()
        .Field("text", limits::FormatBudget(*b))
        .Field("usd", b->usd)
        .Field("window", limits::WindowName(b->window))
        .Field("window_start_ms", day ? DayStartMs(now_ms) : MonthStartMs(now_ms))
        .Field("spent_usd", spent)
        .Field("used", b->usd > 0 ? spent / b->usd : (spent > 0 ? 1.0 : 0.0))
        .EndObject();
  };
  auto use_fields = [&](const KeyUse* u) {
    const KeyUse none;
    if (!u) u = &none;
    j.Field("requests", u->requests)
        .Field("cost_usd", u->cost_usd)
        .Field("rate_limited", u->rate_limited)
        .Field("budget_exceeded", u->budget_exceeded);
  };
  std::map<std::string, const KeyUse*, std::less<>> by_key;
  for (const KeyUse& k : use.keys) by_key.emplace(k.key, &k);
  std::set<std::string, std::less<>> shown;
  j.Key("keys").BeginArray();
  for (const limits::KeyInfo& k : configured) {
    const std::string& name = k.name.empty() ? k.id : k.name;
    auto it = by_key.find(name);
    const KeyUse* u = it == by_key.end() ? nullptr : it->second;
    shown.insert(name);
    j.BeginObject()
        .Field("key", name)
        .Field("id", k.id)
        .Field("team", k.team)
        .Field("revoked", k.revoked)
        .Field("rpm", k.rpm)
        .Field("tpm", k.tpm);
    budget(k.budget, u);
    use_fields(u);
    j.EndObject();
  }
  // Keys in the ledger but not in the store (deleted, or another replica's store), and
  // requests without a key.
  for (const KeyUse& u : use.keys) {
    if (shown.contains(u.key)) continue;
    j.BeginObject()
        .Field("key", u.key.empty() ? "(none)" : u.key)
        .Key("id")
        .Null()
        .Field("team", u.team);
    budget(std::nullopt, &u);
    use_fields(&u);
    j.EndObject();
  }
  j.EndArray().Key("teams").BeginArray();
  std::map<std::string, std::optional<limits::Budget>, std::less<>> team_budgets;
  for (const limits::KeyInfo& k : configured) {
    if (!k.team.empty() && k.team_budget) team_budgets[k.team] = k.team_budget;
  }
  for (const KeyUse& t : use.teams) {
    j.BeginObject().Field("team", t.team);
    auto b = team_budgets.find(t.team);
    budget(b == team_budgets.end() ? std::nullopt : b->second, &t);
    use_fields(&t);
    j.EndObject();
  }
  int64_t rate_limited = 0, budget_exceeded = 0, unauthenticated = 0;
  for (const KeyUse& u : use.keys) {
    rate_limited += u.rate_limited;
    budget_exceeded += u.budget_exceeded;
    unauthenticated += u.unauthenticated;
  }
  j.EndArray()
      .Key("rejections")
      .BeginObject()
      .Field("rate_limited", rate_limited)
      .Field("budget_exceeded", budget_exceeded)
      .Field("unauthenticated", unauthenticated)
      .EndObject()
      .EndObject();
  return out;
}

std::string RenderOverview(const Overview& o, const Window& w, std::string_view source,
                           std::string_view from) {
  const Sums& t = o.totals;
  std::string out;
  JsonWriter j(out);
  j.BeginObject();
  WriteWindow(j, w, source, from);
  const int64_t tokens = t.input_tokens + t.output_tokens;
  const int64_t span_ms = w.until_ms - w.since_ms;
  j.Key("totals")
      .BeginObject()
      .Field("requests", t.requests)
      .Field("requests_per_s", static_cast<double>(t.requests) * 1000.0 / span_ms)
      .Field("input_tokens", t.input_tokens)
      .Field("cached_input_tokens", t.cached_input_tokens)
      .Field("output_tokens", t.output_tokens)
      .Field("total_tokens", tokens)
      .Field("cost_usd", t.cost_usd)
      .Field("usd_per_mtok", PerMtok(t.cost_usd, tokens))
      .Field("p50_latency_ms", o.p50_latency_ms)
      .Field("p95_latency_ms", o.p95_latency_ms)
      .Field("streamed_requests", t.streamed)
      .Field("p50_ttft_ms", o.p50_ttft_ms)
      .Field("p95_ttft_ms", o.p95_ttft_ms)
      .Field("errors", t.errors)
      .Field("error_rate", Rate(t.errors, t.requests))
      .Field("fallbacks", t.fallbacks)
      .Field("fallback_rate", Rate(t.fallbacks, t.requests))
      .Field("escalations", t.escalations)
      .Field("escalation_rate", Rate(t.escalations, t.requests))
      .Field("estimated_usage_rows", t.estimated)
      .EndObject();
  j.Key("spend")
      .BeginObject()
      .Field("today_usd", o.spend_today)
      .Field("last_7d_usd", o.spend_7d)
      .Field("last_30d_usd", o.spend_30d)
      .EndObject();
  WriteGroups(j, "by_zone", o.zones, t);
  WriteGroups(j, "by_tier", o.tiers, t);
  WriteGroups(j, "by_model", o.models, t);
  j.Key("series").BeginArray();
  for (const auto& [at, p] : o.series) {
    j.BeginObject()
        .Field("t", at)
        .Field("requests", p.requests)
        .Field("self_hosted", p.self_hosted)
        .Field("external", p.external)
        .Field("total_tokens", p.tokens)
        .Field("cost_usd", p.cost_usd)
        .Field("errors", p.errors)
        .EndObject();
  }
  j.EndArray().EndObject();
  return out;
}

std::string RenderProtection(const Protection& p, const Window& w, std::string_view source,
                             std::string_view from) {
  std::string out;
  JsonWriter j(out);
  j.BeginObject();
  WriteWindow(j, w, source, from);
  int64_t requests = 0;
  std::array<int64_t, 4> actions{};  // none, route, redact, block
  j.Key("by_class").BeginArray();
  for (const ClassRow& c : p.classes) {
    requests += c.requests;
    actions[0] += c.none;
    actions[1] += c.route;
    actions[2] += c.redact;
    actions[3] += c.block;
    j.BeginObject()
        .Field("data_class", c.data_class)
        .Field("requests", c.requests)
        .Key("actions")
        .BeginObject()
        .Field("none", c.none)
        .Field("route", c.route)
        .Field("redact", c.redact)
        .Field("block", c.block)
        .Field("unknown", c.requests - c.none - c.route - c.redact - c.block)
        .EndObject()
        .Field("answered_self_hosted", c.self_hosted)
        .Field("answered_external", c.external)
        .EndObject();
  }
  j.EndArray();
  j.Field("requests", requests)
      .Key("actions")
      .BeginObject()
      .Field("none", actions[0])
      .Field("route", actions[1])
      .Field("redact", actions[2])
      .Field("block", actions[3])
      .Field("unknown", requests - actions[0] - actions[1] - actions[2] - actions[3])
      .EndObject();
  std::vector<std::pair<std::string, int64_t>> by_count(p.findings.begin(), p.findings.end());
  std::stable_sort(by_count.begin(), by_count.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  j.Key("findings").BeginArray();
  for (const auto& [type, n] : by_count) {
    j.BeginObject().Field("type", type).Field("requests", n).EndObject();
  }
  j.EndArray().Field("findings_truncated", p.truncated);
  j.Key("verdict")
      .BeginObject()
      .Field("class3_plus_reached_external", p.reached_external)
      .Field("violations", p.violations)
      .Field("violating_requests", p.violating_requests)
      .Field("truncated", p.truncated)
      .Field("text", fmt::format("{} class ≥ 3 request{} reached an external provider in this "
                                 "window; {} attempt{} above the provider's allowed class",
                                 p.reached_external, p.reached_external == 1 ? "" : "s",
                                 p.violations, p.violations == 1 ? "" : "s"))
      .EndObject();
  j.EndObject();
  return out;
}

Result<std::string> OverviewJson(LedgerReader& r, const Window& w, int64_t now_ms) {
  HG_TRY_ASSIGN(o, OverviewFromLedger(r, w, now_ms));
  return RenderOverview(o, w, r.backend(), "ledger");
}

Result<std::string> ProtectionJson(LedgerReader& r, const Window& w) {
  HG_TRY_ASSIGN(p, ProtectionFromLedger(r, w));
  return RenderProtection(p, w, r.backend(), "ledger");
}

}  // namespace hybridgate::dashboard
