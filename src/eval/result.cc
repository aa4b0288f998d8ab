#include "eval/result.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "common/json_writer.h"
#include "common/xml.h"
#include "ledger/report.h"

namespace hybridgate::eval {
namespace {

std::string Score2(double v) { return fmt::format("{:.3f}", v); }

// Markdown table cells hold no pipes or line breaks.
std::string Cell(std::string_view s, size_t max) {
  std::string out;
  for (char c : s.substr(0, max)) out += c == '|' ? '/' : (c == '\n' || c == '\r') ? ' ' : c;
  if (s.size() > max) out += "…";
  return out;
}

}  // namespace

void Summarize(ModelResult& m) {
  m.scored = m.failed = 0;
  m.comparator_means.clear();
  std::map<std::string, int> counts;
  double sum = 0;
  std::vector<int64_t> latencies;
  for (const CaseResult& c : m.cases) {
    if (!c.ok) ++m.failed;
    if (c.ok) latencies.push_back(c.latency_ms);
    if (!c.score) continue;
    ++m.scored;
    sum += *c.score;
    for (const quality::Score& s : c.scores) {
      m.comparator_means[s.comparator] += s.value;
      ++counts[s.comparator];
    }
  }
  for (auto& [name, total] : m.comparator_means) total /= counts[name];
  m.score = m.scored > 0 ? sum / m.scored : 0;
  m.p50_latency_ms = latencies.empty() ? 0 : ledger::NearestRankPercentile(latencies, 50);
}

std::string RenderJson(const EvalResult& r) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Field("suite", r.suite).Field("time_unix_ms", r.time_unix_ms);
  w.Key("models").BeginArray();
  for (const ModelResult& m : r.models) {
    w.BeginObject()
        .Field("model", m.model)
        .Field("score", m.score)
        .Field("scored", m.scored)
        .Field("failed", m.failed)
        .Field("cases", static_cast<int64_t>(m.cases.size()))
        .Field("cost_usd", m.cost_usd)
        .Field("p50_latency_ms", m.p50_latency_ms);
    w.Key("comparators").BeginObject();
    for (const auto& [name, mean] : m.comparator_means) w.Field(name, mean);
    w.EndObject();
    w.Key("results").BeginArray();
    for (const CaseResult& c : m.cases) {
      w.BeginObject().Field("id", c.id).Field("ok", c.ok);
      if (!c.ok) w.Field("error", c.error);
      w.Field("served_by", c.served_by)
          .Field("answer", c.answer)
          .Field("latency_ms", c.latency_ms)
          .Field("input_tokens", c.input_tokens)
          .Field("output_tokens", c.output_tokens);
      w.Key("score");
      c.score ? w.Double(*c.score) : w.Null();
      w.Key("scores").BeginArray();
      for (const quality::Score& s : c.scores) {
        w.BeginObject()
            .Field("comparator", s.comparator)
            .Field("value", s.value)
            .Field("detail", s.detail)
            .EndObject();
      }
      w.EndArray().Key("unscored").BeginArray();
      for (const std::string& u : c.unscored) w.String(u);
      w.EndArray().EndObject();
    }
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
  out += '\n';
  return out;
}

std::string RenderTable(const EvalResult& r) {
  std::string out = fmt::format("{:<32} {:>7} {:>7} {:>7} {:>10} {:>9}\n", "model", "score",
                                "scored", "failed", "cost_usd", "p50_ms");
  for (const ModelResult& m : r.models) {
    out += fmt::format("{:<32} {:>7} {:>7} {:>7} {:>10.6f} {:>9}\n", m.model, Score2(m.score),
                       m.scored, m.failed, m.cost_usd, m.p50_latency_ms);
  }
  return out;
}

std::string RenderMarkdown(const EvalResult& r, std::string_view svg_file) {
  std::string out = fmt::format("# Eval: {}\n\n", r.suite);
  if (!svg_file.empty()) out += fmt::format("![scores]({})\n\n", svg_file);
  out += "| model | score | scored | failed | cost (USD) | p50 latency (ms) | comparators |\n";
  out += "|---|---|---|---|---|---|---|\n";
  for (const ModelResult& m : r.models) {
    std::string comparators;
    for (const auto& [name, mean] : m.comparator_means) {
      comparators += fmt::format("{}{} {}", comparators.empty() ? "" : ", ", name, Score2(mean));
    }
    out +=
        fmt::format("| {} | {} | {} | {} | {:.6f} | {} | {} |\n", Cell(m.model, 80),
                    Score2(m.score), m.scored, m.failed, m.cost_usd, m.p50_latency_ms, comparators);
  }
  for (const ModelResult& m : r.models) {
    out += fmt::format("\n## {}\n\n| case | score | detail |\n|---|---|---|\n", Cell(m.model, 80));
    for (const CaseResult& c : m.cases) {
      std::string detail = c.ok ? "" : c.error;
      for (const quality::Score& s : c.scores) {
        detail += fmt::format("{}{}: {}", detail.empty() ? "" : "; ", s.comparator, s.detail);
      }
      for (const std::string& u : c.unscored) {
        detail += fmt::format("{}{}: no score", detail.empty() ? "" : "; ", u);
      }
      out += fmt::format("| {} | {} | {} |\n", Cell(c.id, 80), c.score ? Score2(*c.score) : "–",
                         Cell(detail, 300));
    }
  }
  return out;
}

std::string RenderSvg(const EvalResult& r, const std::map<std::string, double>& baseline) {
  constexpr double kBarH = 22, kGap = 8, kLabelW = 260, kChartW = 400, kTop = 30;
  const double height = kTop + static_cast<double>(r.models.size()) * (kBarH + kGap) + 30;
  std::string svg = fmt::format(
      "<svg xmlns='http://www.w3.org/2000/svg' width='{:.0f}' height='{:.0f}' "
      "font-family='sans-serif' font-size='12'>\n"
      "<text x='10' y='18' font-weight='bold'>{} (score 0 to 1)</text>\n",
      kLabelW + kChartW + 70, height, EscapeXml(r.suite));
  double y = kTop;
  for (const ModelResult& m : r.models) {
    svg += fmt::format(
        "<text x='{:.0f}' y='{:.0f}' text-anchor='end'>{}</text>\n"
        "<rect x='{:.0f}' y='{:.0f}' width='{:.1f}' height='{:.0f}' fill='#1f77b4'/>\n"
        "<text x='{:.1f}' y='{:.0f}'>{}</text>\n",
        kLabelW - 8, y + kBarH * 0.7, EscapeXml(m.model), kLabelW, y,
        kChartW * std::clamp(m.score, 0.0, 1.0), kBarH,
        kLabelW + kChartW * std::clamp(m.score, 0.0, 1.0) + 6, y + kBarH * 0.7, Score2(m.score));
    if (const auto b = baseline.find(m.model); b != baseline.end()) {
      const double x = kLabelW + kChartW * std::clamp(b->second, 0.0, 1.0);
      svg += fmt::format(
          "<line x1='{:.1f}' y1='{:.0f}' x2='{:.1f}' y2='{:.0f}' stroke='#d62728' "
          "stroke-width='2'><title>baseline {}</title></line>\n",
          x, y - 3, x, y + kBarH + 3, Score2(b->second));
    }
    y += kBarH + kGap;
  }
  svg += fmt::format(
      "<line x1='{0:.0f}' y1='{1:.0f}' x2='{2:.0f}' y2='{1:.0f}' stroke='#333'/>\n"
      "<text x='{0:.0f}' y='{3:.0f}'>0</text><text x='{2:.0f}' y='{3:.0f}' "
      "text-anchor='end'>1</text>\n</svg>\n",
      kLabelW, y, kLabelW + kChartW, y + 14);
  return svg;
}

Result<std::map<std::string, double>> ParseBaseline(std::string_view json_text,
                                                    std::string_view name) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(json_text, ec);
  if (ec) {
    return Fail(
        MakeError(ErrorCode::kInvalidRequest, fmt::format("{}: not JSON: {}", name, ec.message())));
  }
  const auto* o = v.if_object();
  const auto* models = o ? o->if_contains("models") : nullptr;
  if (!models || !models->is_array()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("{}: not an eval result (no \"models\" array)", name)));
  }
  std::map<std::string, double> out;
  for (const boost::json::value& m : models->as_array()) {
    const auto* mo = m.if_object();
    const auto* model = mo ? mo->if_contains("model") : nullptr;
    const auto* score = mo ? mo->if_contains("score") : nullptr;
    if (!model || !model->is_string() || !score || !score->is_number()) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("{}: each model needs \"model\" and \"score\"", name)));
    }
    const double value = score->to_number<double>();
    if (!std::isfinite(value) || value < 0 || value > 1) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("{}: {}'s score must be a number from 0 to 1", name,
                                        std::string_view(model->as_string()))));
    }
    if (!out.emplace(std::string(model->as_string()), value).second) {
      return Fail(MakeError(
          ErrorCode::kInvalidRequest,
          fmt::format("{}: {} is listed twice", name, std::string_view(model->as_string()))));
    }
  }
  return out;
}

std::vector<std::string> Unanswered(const EvalResult& r) {
  std::vector<std::string> out;
  for (const ModelResult& m : r.models) {
    const auto answered = std::ranges::find_if(m.cases, [](const CaseResult& c) { return c.ok; });
    if (m.cases.empty() || answered != m.cases.end()) continue;
    out.push_back(
        fmt::format("{}: no case was answered (first error: {})", m.model, m.cases.front().error));
  }
  return out;
}

bool Regressed(double score, double baseline, double max_drop) {
  return !(baseline - score <= max_drop + 1e-12);
}

std::vector<std::string> Regressions(const EvalResult& r,
                                     const std::map<std::string, double>& baseline,
                                     double max_drop) {
  std::vector<std::string> out;
  for (const ModelResult& m : r.models) {
    const auto b = baseline.find(m.model);
    if (b == baseline.end() || m.scored == 0) continue;  // nothing to compare
    const double drop = b->second - m.score;
    if (Regressed(m.score, b->second, max_drop)) {  // a NaN score is a regression, never a pass
      out.push_back(fmt::format("{}: score {} is {} below its baseline {} (more than {})", m.model,
                                Score2(m.score), Score2(drop), Score2(b->second),
                                Score2(max_drop)));
    }
  }
  return out;
}

}  // namespace hybridgate::eval
