#include "quality/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "common/csv.h"
#include "common/json_writer.h"

namespace hybridgate::quality {

namespace {

constexpr double kZ95 = 1.959963984540054;  // the normal distribution's 97.5th percentile

bool Binary(std::span<const double> scores) {
  return std::all_of(scores.begin(), scores.end(), [](double v) { return v == 0 || v == 1; });
}

std::optional<double> PerPoint(std::optional<double> usd_per_1k, const MeanScore& s) {
  if (!usd_per_1k || s.n == 0 || s.mean <= 0) return std::nullopt;
  return *usd_per_1k / s.mean;
}

ShadowStats Shadow(const std::string& deployment, const std::vector<const Comparison*>& rows) {
  ShadowStats s;
  s.deployment = deployment;
  std::set<std::string> primaries;
  std::map<std::string, std::vector<double>> scores;
  double primary_usd = 0, shadow_usd = 0;
  for (const Comparison* c : rows) {
    ++s.shadowed;
    primaries.insert(c->primary.deployment);
    primary_usd += c->primary.cost_usd;
    shadow_usd += c->shadow.cost_usd;
    if (!c->shadow.ok) ++s.shadow_failed;
    if (!c->primary.ok || !c->shadow.ok) continue;
    ++s.compared;
    for (const Score& score : c->scores) scores[score.comparator].push_back(score.value);
    switch (PairwiseOf(*c)) {
      case Pairwise::kWin:
        ++s.win;
        break;
      case Pairwise::kTie:
        ++s.tie;
        break;
      case Pairwise::kLoss:
        ++s.loss;
        break;
      case Pairwise::kUndecided:
        ++s.undecided;
        break;
    }
  }
  s.primaries.assign(primaries.begin(), primaries.end());
  if (s.shadowed > 0) {
    s.primary_usd_per_1k = primary_usd / static_cast<double>(s.shadowed) * 1000;
    s.shadow_usd_per_1k = shadow_usd / static_cast<double>(s.shadowed) * 1000;
  }
  for (const auto& [name, values] : scores) {
    ComparatorStats c{.comparator = name, .score = Summarize(values)};
    c.usd_per_quality_point = PerPoint(s.shadow_usd_per_1k, c.score);
    s.comparators.push_back(std::move(c));
  }
  return s;
}

// --- rendering -------------------------------------------------------------------------------

void Number(JsonWriter& w, std::string_view key, std::optional<double> v) {
  w.Key(key);
  if (v) {
    w.Double(*v);
  } else {
    w.Null();
  }
}

// n, mean, ci95 and interval (null for the last three when n is 0).
void ScoreFields(JsonWriter& w, const MeanScore& s) {
  w.Field("n", s.n);
  if (s.n == 0) {
    w.Key("mean").Null().Key("ci95").Null().Key("interval").Null();
    return;
  }
  w.Field("mean", s.mean).Key("ci95").BeginArray().Double(s.low).Double(s.high).EndArray();
  w.Field("interval", s.interval);
}

// One line of the table and the CSV: a route's feedback, or a shadow's comparator.
struct Line {
  std::string route, deployment, comparator;
  MeanScore score;
  std::optional<int64_t> shadowed, failed, win, tie, loss, undecided, answered;
  std::optional<double> rate, primary_usd_per_1k, shadow_usd_per_1k, usd_per_point;
};

std::vector<Line> Lines(const QualityReport& report) {
  std::vector<Line> lines;
  for (const RouteStats& r : report.routes) {
    lines.push_back({.route = r.route,
                     .comparator = "feedback",
                     .score = r.feedback,
                     .answered = r.answered,
                     .rate = r.feedback_rate,
                     .primary_usd_per_1k = r.usd_per_1k,
                     .usd_per_point = r.usd_per_quality_point});
    for (const ShadowStats& s : r.shadows) {
      Line base{.route = r.route,
                .deployment = s.deployment,
                .shadowed = s.shadowed,
                .failed = s.shadow_failed,
                .win = s.win,
                .tie = s.tie,
                .loss = s.loss,
                .undecided = s.undecided,
                .primary_usd_per_1k = s.primary_usd_per_1k,
                .shadow_usd_per_1k = s.shadow_usd_per_1k};
      if (s.comparators.empty()) lines.push_back(base);  // nothing compared (every shadow failed)
      for (const ComparatorStats& c : s.comparators) {
        Line l = base;
        l.comparator = c.comparator;
        l.score = c.score;
        l.usd_per_point = c.usd_per_quality_point;
        lines.push_back(std::move(l));
      }
    }
  }
  return lines;
}

template <class T>
std::string Cell(const std::optional<T>& v, std::string_view spec, std::string_view none) {
  return v ? fmt::format(fmt::runtime(spec), *v) : std::string(none);
}

}  // namespace

Pairwise PairwiseOf(const Comparison& c) {
  for (const PairwiseRule& rule : kPairwiseRules) {
    for (const Score& s : c.scores) {
      if (s.comparator != rule.comparator) continue;
      if (rule.kind == PairwiseKind::kVerdict) {
        return s.value > 0.5 ? Pairwise::kWin : s.value < 0.5 ? Pairwise::kLoss : Pairwise::kTie;
      }
      if (s.value == 1) return Pairwise::kTie;
    }
  }
  return Pairwise::kUndecided;
}

MeanScore Summarize(std::span<const double> scores) {
  MeanScore m;
  m.n = static_cast<int64_t>(scores.size());
  if (scores.empty()) return m;
  const double n = static_cast<double>(m.n);
  double sum = 0;
  for (double v : scores) sum += v;
  m.mean = sum / n;
  if (Binary(scores)) {
    const double z2 = kZ95 * kZ95;
    const double denom = 1 + z2 / n;
    const double center = (m.mean + z2 / (2 * n)) / denom;
    const double half = kZ95 * std::sqrt(m.mean * (1 - m.mean) / n + z2 / (4 * n * n)) / denom;
    m.low = std::max(0.0, center - half);
    m.high = std::min(1.0, center + half);
    m.interval = "wilson";
    return m;
  }
  m.interval = "normal";
  if (m.n < 2) {
    m.low = 0;
    m.high = 1;
    return m;
  }
  double squares = 0;
  for (double v : scores) squares += (v - m.mean) * (v - m.mean);
  const double half = kZ95 * std::sqrt(squares / (n - 1)) / std::sqrt(n);
  m.low = std::max(0.0, m.mean - half);
  m.high = std::min(1.0, m.mean + half);
  return m;
}

void CountTraffic(const ledger::Row& row,
                  std::map<std::string, RouteTraffic, std::less<>>& traffic) {
  // The gateway's own calls (shadow, judge) are not the route's answered requests.
  if (row.endpoint == "shadow" || row.endpoint == "judge" || row.status < 200 ||
      row.status >= 300) {
    return;
  }
  RouteTraffic& t = traffic[row.route];
  ++t.answered;
  t.cost_usd += std::max(row.cost_usd, 0.0);
}

QualityReport BuildQualityReport(const ReportInput& in) {
  QualityReport report{.since_ms = in.since_ms};
  auto wanted = [&](const std::string& route) { return in.route.empty() || route == in.route; };
  // route -> shadow deployment -> its comparisons; route -> its ratings.
  std::map<std::string, std::map<std::string, std::vector<const Comparison*>>> shadows;
  std::map<std::string, std::vector<const Feedback*>> ratings;
  for (const StoredComparison& row : in.comparisons) {
    const Comparison& c = row.comparison;
    if (c.time_ms >= in.since_ms && wanted(c.route)) {
      shadows[c.route][c.shadow.deployment].push_back(&c);
    }
  }
  for (const Feedback& f : in.feedback) {
    if (f.request_time_ms >= in.since_ms && wanted(f.route)) ratings[f.route].push_back(&f);
  }
  std::set<std::string> routes;
  for (const auto& [route, _] : shadows) routes.insert(route);
  for (const auto& [route, _] : ratings) routes.insert(route);
  if (!in.route.empty()) routes.insert(in.route);
  for (const std::string& route : routes) {
    RouteStats r{.route = route};
    if (in.traffic) {
      const auto it = in.traffic->find(route);
      const RouteTraffic t = it == in.traffic->end() ? RouteTraffic{} : it->second;
      r.answered = t.answered;
      if (t.answered > 0) r.usd_per_1k = t.cost_usd / static_cast<double>(t.answered) * 1000;
    }
    std::vector<double> scores;
    std::set<std::string> rated;
    for (const Feedback* f : ratings[route]) {
      scores.push_back(NormalizedScore(f->score));
      rated.insert(f->request_id);
    }
    r.feedback_count = static_cast<int64_t>(scores.size());
    r.rated_requests = static_cast<int64_t>(rated.size());
    if (r.answered && *r.answered > 0) {
      r.feedback_rate = static_cast<double>(r.rated_requests) / static_cast<double>(*r.answered);
    }
    r.feedback = Summarize(scores);
    r.usd_per_quality_point = PerPoint(r.usd_per_1k, r.feedback);
    for (const auto& [deployment, rows] : shadows[route]) {
      r.shadows.push_back(Shadow(deployment, rows));
    }
    report.routes.push_back(std::move(r));
  }
  return report;
}

std::string RenderQualityJson(const QualityReport& report) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Field("since_ms", report.since_ms).Key("routes").BeginArray();
  for (const RouteStats& r : report.routes) {
    w.BeginObject().Field("route", r.route).Key("answered");
    if (r.answered) {
      w.Int(*r.answered);
    } else {
      w.Null();
    }
    Number(w, "usd_per_1k", r.usd_per_1k);
    w.Key("feedback").BeginObject().Field("count", r.feedback_count);
    w.Field("rated_requests", r.rated_requests);
    Number(w, "rate", r.feedback_rate);
    ScoreFields(w, r.feedback);
    Number(w, "usd_per_quality_point", r.usd_per_quality_point);
    w.EndObject().Key("shadows").BeginArray();
    for (const ShadowStats& s : r.shadows) {
      w.BeginObject().Field("deployment", s.deployment).Key("primaries").BeginArray();
      for (const std::string& p : s.primaries) w.String(p);
      w.EndArray().Field("shadowed", s.shadowed).Field("compared", s.compared);
      w.Field("shadow_failed", s.shadow_failed).Field("win", s.win).Field("tie", s.tie);
      w.Field("loss", s.loss).Field("undecided", s.undecided);
      w.Field("primary_usd_per_1k", s.primary_usd_per_1k);
      w.Field("shadow_usd_per_1k", s.shadow_usd_per_1k).Key("comparators").BeginArray();
      for (const ComparatorStats& c : s.comparators) {
        w.BeginObject().Field("comparator", c.comparator);
        ScoreFields(w, c.score);
        Number(w, "usd_per_quality_point", c.usd_per_quality_point);
        w.EndObject();
      }
      w.EndArray().EndObject();
    }
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
  out += '\n';
  return out;
}

std::string RenderQualityTable(const QualityReport& report) {
  if (report.routes.empty()) return "no comparisons or feedback in this period\n";
  constexpr size_t kColumns = 14;
  const std::array<std::string_view, kColumns> headers = {
      "route",    "deployment", "comparator", "n",    "mean",       "95% CI",     "W/T/L/U",
      "shadowed", "failed",     "answered",   "rate", "$/1k prim.", "$/1k shad.", "$/quality pt"};
  std::vector<std::array<std::string, kColumns>> rows;
  auto count = [](const std::optional<int64_t>& v) { return Cell(v, "{}", "-"); };
  for (const Line& l : Lines(report)) {
    const MeanScore& s = l.score;
    rows.push_back({l.route.empty() ? std::string("(none)") : l.route,
                    l.deployment.empty() ? std::string("-") : l.deployment,
                    l.comparator.empty() ? std::string("-") : l.comparator, fmt::format("{}", s.n),
                    s.n > 0 ? fmt::format("{:.3f}", s.mean) : "-",
                    s.n > 0 ? fmt::format("{:.3f}-{:.3f} {}", s.low, s.high, s.interval) : "-",
                    l.win ? fmt::format("{}/{}/{}/{}", *l.win, *l.tie, *l.loss, *l.undecided) : "-",
                    count(l.shadowed), count(l.failed), count(l.answered),
                    l.rate ? fmt::format("{:.2f}%", *l.rate * 100) : "-",
                    Cell(l.primary_usd_per_1k, "{:.4f}", "-"),
                    Cell(l.shadow_usd_per_1k, "{:.4f}", "-"),
                    Cell(l.usd_per_point, "{:.4f}", "-")});
  }
  std::array<size_t, kColumns> width{};
  for (size_t c = 0; c < kColumns; ++c) {
    width[c] = headers[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  auto emit = [&](auto&& cell) {
    for (size_t c = 0; c < kColumns; ++c) {
      // Names left-aligned, numbers right-aligned.
      out += c < 3 ? fmt::format("{}{:<{}}", c ? "  " : "", cell(c), width[c])
                   : fmt::format("  {:>{}}", cell(c), width[c]);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  };
  emit([&](size_t c) { return std::string(headers[c]); });
  for (const auto& row : rows) emit([&](size_t c) { return row[c]; });
  return out;
}

std::string RenderQualityCsv(const QualityReport& report) {
  std::string out =
      "route,deployment,comparator,n,mean,ci95_low,ci95_high,interval,shadowed,shadow_failed,win,"
      "tie,loss,undecided,answered,feedback_rate,primary_usd_per_1k,shadow_usd_per_1k,"
      "usd_per_quality_point\n";
  auto count = [](const std::optional<int64_t>& v) { return Cell(v, "{}", ""); };
  auto real = [](const std::optional<double>& v) { return Cell(v, "{}", ""); };
  for (const Line& l : Lines(report)) {
    const MeanScore& s = l.score;
    const auto score = [&](double v) { return s.n > 0 ? fmt::format("{}", v) : std::string(); };
    out += fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", CsvField(l.route),
        CsvField(l.deployment), CsvField(l.comparator), s.n, score(s.mean), score(s.low),
        score(s.high), s.interval, count(l.shadowed), count(l.failed), count(l.win), count(l.tie),
        count(l.loss), count(l.undecided), count(l.answered), real(l.rate),
        real(l.primary_usd_per_1k), real(l.shadow_usd_per_1k), real(l.usd_per_point));
  }
  return out;
}

namespace {

// The comparator a shadow's headline score is by: the first of kPairwiseRules that scored any
// comparison, else the first by name; nullptr when none scored.
const ComparatorStats* Headline(const ShadowStats& s) {
  for (const PairwiseRule& rule : kPairwiseRules) {
    for (const ComparatorStats& c : s.comparators) {
      if (c.comparator == rule.comparator) return &c;
    }
  }
  return s.comparators.empty() ? nullptr : &s.comparators.front();
}

}  // namespace

ledger::JoinedColumns ReportJoinColumns(const QualityReport& report) {
  ledger::JoinedColumns join{
      .name = "quality",
      .table_headers = {"shadow", "shadowed", "compared", "comparator", "score", "w/t/l",
                        "usd/q_pt"},
      .csv_headers = {"shadow_deployment", "shadowed", "compared", "comparator", "mean_score",
                      "win", "tie", "loss", "usd_per_quality_point"}};
  for (const RouteStats& r : report.routes) {
    std::vector<ledger::JoinedLine>& lines = join.groups[r.route];
    for (const ShadowStats& s : r.shadows) {
      const ComparatorStats* c = Headline(s);
      const std::optional<double> per_point = c ? c->usd_per_quality_point : std::nullopt;
      ledger::JoinedLine l;
      l.table_cells = {s.deployment,
                       fmt::format("{}", s.shadowed),
                       fmt::format("{}", s.compared),
                       c ? c->comparator : "-",
                       c ? fmt::format("{:.3f}", c->score.mean) : "-",
                       fmt::format("{}/{}/{}", s.win, s.tie, s.loss),
                       Cell(per_point, "{:.4f}", "-")};
      l.csv_cells = {s.deployment,
                     fmt::format("{}", s.shadowed),
                     fmt::format("{}", s.compared),
                     c ? c->comparator : "",
                     c ? fmt::format("{}", c->score.mean) : "",
                     fmt::format("{}", s.win),
                     fmt::format("{}", s.tie),
                     fmt::format("{}", s.loss),
                     Cell(per_point, "{}", "")};
      JsonWriter w(l.json);
      w.BeginObject()
          .Field("shadow_deployment", s.deployment)
          .Field("shadowed", s.shadowed)
          .Field("compared", s.compared)
          .Field("shadow_failed", s.shadow_failed)
          .Key("comparator");
      if (c) {
        w.String(c->comparator);
      } else {
        w.Null();
      }
      Number(w, "mean_score", c ? std::optional<double>(c->score.mean) : std::nullopt);
      w.Field("win", s.win)
          .Field("tie", s.tie)
          .Field("loss", s.loss)
          .Field("undecided", s.undecided)
          .Field("primary_usd_per_1k", s.primary_usd_per_1k)
          .Field("shadow_usd_per_1k", s.shadow_usd_per_1k);
      Number(w, "usd_per_quality_point", per_point);
      w.EndObject();
      lines.push_back(std::move(l));
    }
  }
  return join;
}

}  // namespace hybridgate::quality
