#include "ledger/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>

#include "common/csv.h"
#include "common/json_writer.h"
#include "ledger/sink.h"

namespace hybridgate::ledger {
namespace {

constexpr std::array<std::pair<std::string_view, GroupBy>, 6> kGroupBy = {{
    {"route", GroupBy::kRoute},
    {"tier", GroupBy::kTier},
    {"provider", GroupBy::kProvider},
    {"model", GroupBy::kModel},
    {"key", GroupBy::kKey},
    {"team", GroupBy::kTeam},
}};

const std::string& GroupValue(const Row& row, GroupBy by) {
  switch (by) {
    case GroupBy::kRoute:
      return row.route;
    case GroupBy::kTier:
      return row.tier;
    case GroupBy::kProvider:
      return row.provider;
    case GroupBy::kModel:
      return row.model;
    case GroupBy::kKey:
      return row.key;
    case GroupBy::kTeam:
      return row.team;
  }
  return row.route;
}

bool IsError(const Row& row) { return row.status < 200 || row.status >= 300; }

// Sums and latencies of one group while rows are added.
struct Accumulator {
  GroupStats stats;
  std::vector<int64_t> latencies;

  void Add(const Row& row) {
    GroupStats& s = stats;
    ++s.requests;
    s.input_tokens += row.input_tokens;
    s.cached_input_tokens += row.cached_input_tokens;
    s.output_tokens += row.output_tokens;
    s.estimated_usage += row.usage_estimated ? 1 : 0;
    s.cost_usd += row.cost_usd;
    s.errors += IsError(row) ? 1 : 0;
    s.fallbacks += row.fallback ? 1 : 0;
    s.escalations += row.escalated ? 1 : 0;
    latencies.push_back(row.latency_ms);
  }

  GroupStats Finish(int64_t all_requests, double all_cost) {
    GroupStats s = std::move(stats);
    const auto n = static_cast<double>(s.requests);
    if (s.total_tokens() > 0) {
      s.usd_per_mtok = s.cost_usd / static_cast<double>(s.total_tokens()) * 1e6;
    }
    if (all_requests > 0) s.request_share = n / static_cast<double>(all_requests);
    if (all_cost > 0) s.cost_share = s.cost_usd / all_cost;
    if (s.requests > 0) {
      s.error_rate = static_cast<double>(s.errors) / n;
      s.fallback_rate = static_cast<double>(s.fallbacks) / n;
      s.escalation_rate = static_cast<double>(s.escalations) / n;
    }
    s.p50_latency_ms = NearestRankPercentile(latencies, 50);
    s.p95_latency_ms = NearestRankPercentile(latencies, 95);
    return s;
  }
};

std::string Percent(double rate) { return fmt::format("{:.1f}%", rate * 100); }

}  // namespace

Result<GroupBy> ParseGroupBy(std::string_view name) {
  for (const auto& [n, by] : kGroupBy) {
    if (n == name) return by;
  }
  return Fail(MakeError(ErrorCode::kInvalidRequest,
                        fmt::format("--by: unknown grouping '{}' (expected route, tier, provider, "
                                    "model, key or team)",
                                    name)));
}

std::string_view GroupByName(GroupBy by) {
  for (const auto& [n, b] : kGroupBy) {
    if (b == by) return n;
  }
  return "route";
}

Result<int64_t> ParseDuration(std::string_view text) {
  auto ms = ParseDurationMs(text);
  if (!ms) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "--since: " + ms.error().message));
  }
  return ms;
}

int64_t NearestRankPercentile(std::vector<int64_t>& values, int p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto n = static_cast<int64_t>(values.size());
  const int64_t rank = std::max<int64_t>(1, (p * n + 99) / 100);  // ceil(p/100 * n), exactly
  return values[static_cast<size_t>(std::min(rank, n) - 1)];
}

Report Aggregate(std::span<const Row> rows, GroupBy by) {
  Accumulator total;
  std::map<std::string, Accumulator, std::less<>> groups;
  for (const Row& row : rows) {
    total.Add(row);
    const std::string& value = GroupValue(row, by);
    auto it = groups.find(value);
    if (it == groups.end()) it = groups.emplace(value, Accumulator{}).first;
    it->second.Add(row);
  }
  Report report;
  report.by = by;
  const int64_t all_requests = total.stats.requests;
  const double all_cost = total.stats.cost_usd;
  for (auto& [name, acc] : groups) {
    GroupStats s = acc.Finish(all_requests, all_cost);
    s.name = name.empty() ? "(none)" : name;
    report.groups.push_back(std::move(s));
  }
  report.total = total.Finish(all_requests, all_cost);
  report.total.name = "TOTAL";
  std::stable_sort(report.groups.begin(), report.groups.end(),
                   [](const GroupStats& a, const GroupStats& b) {
                     if (a.cost_usd != b.cost_usd) return a.cost_usd > b.cost_usd;
                     return a.requests > b.requests;
                   });
  return report;
}

Result<std::vector<Row>> LoadRows(const std::string& path_or_dsn, int64_t since_ms) {
  if (IsPostgresDsn(path_or_dsn)) return LoadPostgresRows(path_or_dsn, since_ms);
  return LoadSqliteRows(path_or_dsn, since_ms);
}

std::string RenderTable(const Report& report) {
  const std::array<std::string_view, 13> headers = {GroupByName(report.by),
                                                    "requests",
                                                    "share",
                                                    "in_tokens",
                                                    "out_tokens",
                                                    "cost_usd",
                                                    "usd/1M",
                                                    "p50_ms",
                                                    "p95_ms",
                                                    "errors",
                                                    "fallback",
                                                    "escalated",
                                                    "est_usage"};
  std::vector<std::array<std::string, 13>> lines;
  auto add = [&](const GroupStats& g) {
    lines.push_back({g.name, fmt::format("{}", g.requests), Percent(g.request_share),
                     fmt::format("{}", g.input_tokens), fmt::format("{}", g.output_tokens),
                     fmt::format("{:.6f}", g.cost_usd), fmt::format("{:.4f}", g.usd_per_mtok),
                     fmt::format("{}", g.p50_latency_ms), fmt::format("{}", g.p95_latency_ms),
                     Percent(g.error_rate), Percent(g.fallback_rate), Percent(g.escalation_rate),
                     fmt::format("{}", g.estimated_usage)});
  };
  for (const GroupStats& g : report.groups) add(g);
  add(report.total);
  std::array<size_t, 13> width{};
  for (size_t c = 0; c < headers.size(); ++c) {
    width[c] = headers[c].size();
    for (const auto& line : lines) width[c] = std::max(width[c], line[c].size());
  }
  std::string out;
  auto emit = [&](auto&& cell) {
    for (size_t c = 0; c < headers.size(); ++c) {
      // The group name is left-aligned, numbers right-aligned.
      if (c == 0) {
        out += fmt::format("{:<{}}", cell(c), width[c]);
      } else {
        out += fmt::format("  {:>{}}", cell(c), width[c]);
      }
    }
    out += '\n';
  };
  emit([&](size_t c) { return std::string(headers[c]); });
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i + 1 == lines.size()) {
      size_t rule = 0;
      for (size_t w : width) rule += w + 2;
      out += std::string(rule - 2, '-') + '\n';
    }
    emit([&](size_t c) { return lines[i][c]; });
  }
  return out;
}

std::string RenderCsv(const Report& report) {
  std::string out = fmt::format(
      "{},requests,request_share,input_tokens,cached_input_tokens,output_tokens,total_tokens,"
      "cost_usd,cost_share,usd_per_mtok,p50_latency_ms,p95_latency_ms,error_rate,fallback_rate,"
      "escalation_rate,estimated_usage_rows\n",
      GroupByName(report.by));
  for (const GroupStats& g : report.groups) {
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", CsvField(g.name),
                       g.requests, g.request_share, g.input_tokens, g.cached_input_tokens,
                       g.output_tokens, g.total_tokens(), g.cost_usd, g.cost_share, g.usd_per_mtok,
                       g.p50_latency_ms, g.p95_latency_ms, g.error_rate, g.fallback_rate,
                       g.escalation_rate, g.estimated_usage);
  }
  return out;
}

namespace {
void WriteGroup(JsonWriter& w, const GroupStats& g) {
  w.BeginObject()
      .Field("name", g.name)
      .Field("requests", g.requests)
      .Field("request_share", g.request_share)
      .Field("input_tokens", g.input_tokens)
      .Field("cached_input_tokens", g.cached_input_tokens)
      .Field("output_tokens", g.output_tokens)
      .Field("total_tokens", g.total_tokens())
      .Field("cost_usd", g.cost_usd)
      .Field("cost_share", g.cost_share)
      .Field("usd_per_mtok", g.usd_per_mtok)
      .Field("p50_latency_ms", g.p50_latency_ms)
      .Field("p95_latency_ms", g.p95_latency_ms)
      .Field("errors", g.errors)
      .Field("error_rate", g.error_rate)
      .Field("fallbacks", g.fallbacks)
      .Field("fallback_rate", g.fallback_rate)
      .Field("escalations", g.escalations)
      .Field("escalation_rate", g.escalation_rate)
      .Field("estimated_usage_rows", g.estimated_usage)
      .EndObject();
}
}  // namespace

std::string RenderJson(const Report& report) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Field("by", GroupByName(report.by)).Key("total");
  WriteGroup(w, report.total);
  w.Key("groups").BeginArray();
  for (const GroupStats& g : report.groups) WriteGroup(w, g);
  w.EndArray().EndObject();
  out += '\n';
  return out;
}

}  // namespace hybridgate::ledger
