#include "dashboard/data_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <vector>

#include "common/duration.h"
#include "common/json_writer.h"
#include "ledger/audit.h"

namespace hybridgate::dashboard {
namespace {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kDay = 24 * 60 * kMinute;
constexpr int64_t kMaxBuckets = 120;
constexpr size_t kTopModels = 20;
constexpr size_t kMaxGroups = 5000;  // distinct finding sets / egress trails read per window

// Every statement reads this window: ?1 = since, ?2 = until (the time_ms index).
#define HG_WINDOW " FROM requests WHERE time_ms >= ?1 AND time_ms < ?2"
#define HG_ERROR "CASE WHEN status < 200 OR status >= 300 THEN 1 ELSE 0 END"
// `auto& name = *(expr)`, or return its error.
#define HG_TRY_ASSIGN(name, expr)                                    \
  auto name##_result = (expr);                                       \
  if (!name##_result) return Fail(std::move(name##_result.error())); \
  auto& name = *name##_result

struct Sums {
  int64_t requests = 0, input_tokens = 0, cached_input_tokens = 0, output_tokens = 0;
  int64_t errors = 0, fallbacks = 0, escalations = 0, estimated = 0, streamed = 0;
  double cost_usd = 0;
};

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

struct Group {
  std::string name;
  int64_t requests = 0, tokens = 0, errors = 0;
  double cost_usd = 0;
};

// Requests, tokens, cost and errors per value of `column` (a fixed column name, never input),
// by cost then requests, at most `limit` groups; the rest summed as "(others)".
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
    Group g{c[0].empty() ? "(none)" : c[0], CellInt(c[1]), CellInt(c[2]), CellInt(c[4]),
            CellDouble(c[3])};
    if (out.size() < limit) {
      out.push_back(std::move(g));
      continue;
    }
    if (out.size() == limit) out.push_back(Group{.name = "(others)"});
    Group& rest = out.back();
    rest.requests += g.requests;
    rest.tokens += g.tokens;
    rest.errors += g.errors;
    rest.cost_usd += g.cost_usd;
  }
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

void WriteWindow(JsonWriter& j, const Window& w, std::string_view backend) {
  j.Key("window")
      .BeginObject()
      .Field("label", w.label)
      .Field("since_ms", w.since_ms)
      .Field("until_ms", w.until_ms)
      .Field("bucket_ms", w.bucket_ms)
      .EndObject()
      .Field("source", backend);
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

Result<std::string> OverviewJson(LedgerReader& r, const Window& w, int64_t now_ms) {
  const std::array<int64_t, 2> window = {w.since_ms, w.until_ms};
  HG_TRY_ASSIGN(
      totals,
      r.Query("SELECT COUNT(*), COALESCE(SUM(input_tokens), 0), "
              "COALESCE(SUM(cached_input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
              "COALESCE(SUM(cost_usd), 0), COALESCE(SUM(" HG_ERROR "), 0), "
              "COALESCE(SUM(fallback), 0), COALESCE(SUM(escalated), 0), "
              "COALESCE(SUM(usage_estimated), 0), "
              "COALESCE(SUM(CASE WHEN stream = 1 AND ttft_ms >= 0 THEN 1 ELSE 0 END), 0)" HG_WINDOW,
              window, 1));
  Sums t;
  if (!totals.empty()) {
    const Cells& c = totals[0];
    t = {CellInt(c[0]), CellInt(c[1]), CellInt(c[2]), CellInt(c[3]), CellInt(c[5]),
         CellInt(c[6]), CellInt(c[7]), CellInt(c[8]), CellInt(c[9]), CellDouble(c[4])};
  }
  HG_TRY_ASSIGN(p50, Percentile(r, w, "latency_ms", "", t.requests, 50));
  HG_TRY_ASSIGN(p95, Percentile(r, w, "latency_ms", "", t.requests, 95));
  constexpr const char* kStreamed = " AND stream = 1 AND ttft_ms >= 0";
  HG_TRY_ASSIGN(ttft50, Percentile(r, w, "ttft_ms", kStreamed, t.streamed, 50));
  HG_TRY_ASSIGN(ttft95, Percentile(r, w, "ttft_ms", kStreamed, t.streamed, 95));

  // Spend today (UTC), over 7 and over 30 days, whatever the window.
  const int64_t today = now_ms / kDay * kDay;
  const std::array<int64_t, 4> spend_params = {today, now_ms - 7 * kDay, now_ms - 30 * kDay,
                                               now_ms + 1};
  HG_TRY_ASSIGN(spend, r.Query("SELECT COALESCE(SUM(CASE WHEN time_ms >= ?1 THEN cost_usd ELSE 0 "
                               "END), 0), COALESCE(SUM(CASE WHEN time_ms >= ?2 THEN cost_usd "
                               "ELSE 0 END), 0), COALESCE(SUM(cost_usd), 0) FROM requests WHERE "
                               "time_ms >= ?3 AND time_ms < ?4",
                               spend_params, 1));

  HG_TRY_ASSIGN(zones, GroupBy(r, w, "provider_zone", 10));
  HG_TRY_ASSIGN(tiers, GroupBy(r, w, "tier", 50));
  HG_TRY_ASSIGN(models, GroupBy(r, w, "model", kTopModels));

  const std::array<int64_t, 3> series_params = {w.since_ms, w.until_ms, w.bucket_ms};
  HG_TRY_ASSIGN(series, r.Query("SELECT (time_ms / ?3) * ?3, provider_zone, COUNT(*), "
                                "COALESCE(SUM(input_tokens + output_tokens), 0), "
                                "COALESCE(SUM(cost_usd), 0), COALESCE(SUM(" HG_ERROR
                                "), 0)" HG_WINDOW " GROUP BY 1, 2 ORDER BY 1 LIMIT 2000",
                                series_params, 2000));

  std::string out;
  JsonWriter j(out);
  j.BeginObject();
  WriteWindow(j, w, r.backend());
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
      .Field("p50_latency_ms", p50)
      .Field("p95_latency_ms", p95)
      .Field("streamed_requests", t.streamed)
      .Field("p50_ttft_ms", ttft50)
      .Field("p95_ttft_ms", ttft95)
      .Field("errors", t.errors)
      .Field("error_rate", Rate(t.errors, t.requests))
      .Field("fallbacks", t.fallbacks)
      .Field("fallback_rate", Rate(t.fallbacks, t.requests))
      .Field("escalations", t.escalations)
      .Field("escalation_rate", Rate(t.escalations, t.requests))
      .Field("estimated_usage_rows", t.estimated)
      .EndObject();
  const Cells none = {"0", "0", "0"};
  const Cells& s = spend.empty() ? none : spend[0];
  j.Key("spend")
      .BeginObject()
      .Field("today_usd", CellDouble(s[0]))
      .Field("last_7d_usd", CellDouble(s[1]))
      .Field("last_30d_usd", CellDouble(s[2]))
      .EndObject();
  WriteGroups(j, "by_zone", zones, t);
  WriteGroups(j, "by_tier", tiers, t);
  WriteGroups(j, "by_model", models, t);

  // Every bucket of the window, empty ones included, so that a chart's time axis is true.
  struct Point {
    int64_t requests = 0, self_hosted = 0, external = 0, tokens = 0, errors = 0;
    double cost_usd = 0;
  };
  std::map<int64_t, Point> points;
  for (int64_t b = w.since_ms / w.bucket_ms * w.bucket_ms; b < w.until_ms; b += w.bucket_ms) {
    points[b];
  }
  for (const Cells& c : series) {
    Point& p = points[CellInt(c[0])];
    const int64_t n = CellInt(c[2]);
    p.requests += n;
    if (c[1] == "self_hosted") p.self_hosted += n;
    if (c[1] == "external") p.external += n;
    p.tokens += CellInt(c[3]);
    p.cost_usd += CellDouble(c[4]);
    p.errors += CellInt(c[5]);
  }
  j.Key("series").BeginArray();
  for (const auto& [at, p] : points) {
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
  (void)now_ms;
  return out;
}

Result<std::string> ProtectionJson(LedgerReader& r, const Window& w) {
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

  std::string out;
  JsonWriter j(out);
  j.BeginObject();
  WriteWindow(j, w, r.backend());
  int64_t requests = 0;
  std::array<int64_t, 4> actions{};  // none, route, redact, block
  j.Key("by_class").BeginArray();
  for (const Cells& c : classes) {
    const int64_t n = CellInt(c[1]);
    requests += n;
    int64_t known = 0;
    for (size_t a = 0; a < actions.size(); ++a) {
      actions[a] += CellInt(c[2 + a]);
      known += CellInt(c[2 + a]);
    }
    j.BeginObject()
        .Field("data_class", CellInt(c[0]))
        .Field("requests", n)
        .Key("actions")
        .BeginObject()
        .Field("none", CellInt(c[2]))
        .Field("route", CellInt(c[3]))
        .Field("redact", CellInt(c[4]))
        .Field("block", CellInt(c[5]))
        .Field("unknown", n - known)
        .EndObject()
        .Field("answered_self_hosted", CellInt(c[6]))
        .Field("answered_external", CellInt(c[7]))
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
      .EndObject();

  // Finding types, from the rows' sorted, comma-joined sets: requests per type.
  std::map<std::string, int64_t> types;
  for (size_t i = 0; i < sets.size() && i < kMaxGroups; ++i) {
    std::string_view set = sets[i][0];
    const int64_t n = CellInt(sets[i][1]);
    while (!set.empty()) {
      const size_t comma = set.find(',');
      types[std::string(set.substr(0, comma))] += n;
      set = comma == std::string_view::npos ? std::string_view() : set.substr(comma + 1);
    }
  }
  std::vector<std::pair<std::string, int64_t>> by_count(types.begin(), types.end());
  std::stable_sort(by_count.begin(), by_count.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  j.Key("findings").BeginArray();
  for (const auto& [type, n] : by_count) {
    j.BeginObject().Field("type", type).Field("requests", n).EndObject();
  }
  j.EndArray().Field("findings_truncated", sets.size() > kMaxGroups);

  int64_t reached_external = 0, violations = 0, violating_requests = 0;
  for (size_t i = 0; i < trails.size() && i < kMaxGroups; ++i) {
    const Cells& c = trails[i];
    const int64_t data_class = CellInt(c[0]);
    const int64_t n = CellInt(c[5]);
    std::vector<ledger::EgressHop> hops = ledger::ParseEgress(c[1]);
    if (hops.empty()) hops.push_back({c[2], c[3], CellInt(c[4]), ""});
    bool external = false;
    int64_t over = 0;
    for (const ledger::EgressHop& hop : hops) {
      if (hop.result == "policy_blocked") continue;  // refused at the gate: nothing left
      external = external || hop.zone == "external";
      if (hop.max_data_class == 0 || data_class > hop.max_data_class) ++over;
    }
    if (external && data_class >= 3) reached_external += n;
    violations += over * n;
    violating_requests += over > 0 ? n : 0;
  }
  j.Key("verdict")
      .BeginObject()
      .Field("class3_plus_reached_external", reached_external)
      .Field("violations", violations)
      .Field("violating_requests", violating_requests)
      .Field("truncated", trails.size() > kMaxGroups)
      .Field("text", fmt::format("{} class ≥ 3 request{} reached an external provider in this "
                                 "window; {} attempt{} above the provider's allowed class",
                                 reached_external, reached_external == 1 ? "" : "s", violations,
                                 violations == 1 ? "" : "s"))
      .EndObject();
  j.EndObject();
  return out;
}

}  // namespace hybridgate::dashboard
