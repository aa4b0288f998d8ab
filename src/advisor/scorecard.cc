#include "advisor/scorecard.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "common/json_writer.h"

namespace hybridgate::advisor {
namespace {

Error Bad(std::string_view name, std::string_view key, std::string_view why) {
  return MakeError(ErrorCode::kInvalidRequest, fmt::format("{}: '{}': {}", name, key, why));
}

std::optional<size_t> DimensionIndex(std::string_view key) {
  for (size_t i = 0; i < kDimensions; ++i) {
    if (kDimensionNames[i] == key) return i;
  }
  return std::nullopt;
}

// The share of requests that carried class >= 3 data.
double SensitiveShare(const LedgerFacts& l) {
  if (l.requests == 0) return 0;
  return static_cast<double>(l.by_class[3] + l.by_class[4] + l.by_class[5]) /
         static_cast<double>(l.requests);
}

int VolumeScore(double monthly_tokens) {
  if (monthly_tokens < 10e6) return 1;
  if (monthly_tokens < 100e6) return 2;
  if (monthly_tokens < 1e9) return 3;
  if (monthly_tokens < 10e9) return 4;
  return 5;
}

std::string Percent(double share) { return fmt::format("{:.1f}%", share * 100); }

// A name as one table cell: control characters and (for markdown) pipes cannot end the cell or
// the row, and a long name is cut.
std::string Cell(std::string_view name, bool markdown) {
  std::string out;
  for (unsigned char ch : name.substr(0, 80)) {
    if (ch < 0x20 || ch == 0x7f) {
      out += '?';
    } else if (markdown && (ch == '|' || ch == '\\')) {
      out += '\\';
      out += static_cast<char>(ch);
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out;
}

}  // namespace

Status SetAnswer(Answers& a, std::string_view key, std::string_view value) {
  const std::string_view name = "answer";
  if (key == "data_can_leave") {
    std::string v(value);
    std::ranges::transform(v, v.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (v == "true" || v == "yes" || v == "y" || v == "on") {
      a.data_can_leave = true;
    } else if (v == "false" || v == "no" || v == "n" || v == "off") {
      a.data_can_leave = false;
    } else {
      return Fail(Bad(name, key, fmt::format("'{}' is not yes or no", value)));
    }
    return {};
  }
  if (key == "monthly_tokens") {
    int64_t v = -1;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size() || v < 0) {
      return Fail(Bad(name, key, fmt::format("'{}' is not a whole number of tokens", value)));
    }
    a.monthly_tokens = v;
    return {};
  }
  if (key == "frontier_capability") {
    if (value != "required" && value != "some" && value != "none") {
      return Fail(Bad(name, key, fmt::format("'{}' is not required, some or none", value)));
    }
    a.frontier = std::string(value);
    return {};
  }
  if (key == "team_capacity") {
    if (value != "none" && value != "some" && value != "dedicated") {
      return Fail(Bad(name, key, fmt::format("'{}' is not none, some or dedicated", value)));
    }
    a.team = std::string(value);
    return {};
  }
  if (const auto d = DimensionIndex(key)) {
    int v = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size()) {
      return Fail(Bad(name, key, fmt::format("'{}' is not a number from 1 to 5", value)));
    }
    if (v < 1 || v > 5) return Fail(Bad(name, key, fmt::format("{} is not 1 to 5", v)));
    a.scores[*d] = v;
    return {};
  }
  return Fail(Bad(name, key, "unknown question"));
}

Result<Answers> ParseAnswers(std::string_view yaml, std::string_view name) {
  Answers a;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("{}: the answers must be a YAML mapping", name)));
    }
    std::set<std::string> seen;
    for (const auto& kv : root) {
      const std::string key = kv.first.Scalar();
      if (!seen.insert(key).second) {
        return Fail(
            Bad(fmt::format("{}:{}", name, kv.first.Mark().line + 1), key, "is answered twice"));
      }
      auto err = [&](const Error& e) {
        // SetAnswer says "answer: 'key': why"; here the file and line name it.
        const std::string why = e.message.substr(e.message.find("': ") + 3);
        return Fail(Bad(fmt::format("{}:{}", name, kv.first.Mark().line + 1), key, why));
      };
      if (key == "scores") {
        if (!kv.second.IsMap()) {
          return Fail(Bad(name, key, "must map a dimension to a score from 1 to 5"));
        }
        std::set<std::string> scored;
        for (const auto& s : kv.second) {
          const std::string dim = s.first.Scalar();
          if (!scored.insert(dim).second) {
            return Fail(Bad(fmt::format("{}:{}", name, s.first.Mark().line + 1), "scores." + dim,
                            "is scored twice"));
          }
          if (!DimensionIndex(dim)) {
            return Fail(Bad(
                fmt::format("{}:{}", name, s.first.Mark().line + 1), "scores." + dim,
                fmt::format("unknown dimension (one of {})", fmt::join(kDimensionNames, ", "))));
          }
          if (!s.second.IsScalar()) {
            return Fail(Bad(name, "scores." + dim, "must be a number from 1 to 5"));
          }
          if (auto st = SetAnswer(a, dim, s.second.Scalar()); !st) {
            const std::string why = st.error().message.substr(st.error().message.find("': ") + 3);
            return Fail(
                Bad(fmt::format("{}:{}", name, s.second.Mark().line + 1), "scores." + dim, why));
          }
        }
        continue;
      }
      if (key != "data_can_leave" && key != "monthly_tokens" && key != "frontier_capability" &&
          key != "team_capacity") {
        return Fail(Bad(fmt::format("{}:{}", name, kv.first.Mark().line + 1), key,
                        "unknown key (data_can_leave, monthly_tokens, frontier_capability, "
                        "team_capacity, scores)"));
      }
      if (!kv.second.IsScalar()) return err(Bad(name, key, "must be a single value"));
      if (auto st = SetAnswer(a, key, kv.second.Scalar()); !st) return err(st.error());
    }
  } catch (const YAML::Exception& e) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, fmt::format("{}:{}: YAML syntax error: {}",
                                                                  name, e.mark.line + 1, e.msg)));
  }
  return a;
}

std::vector<std::string> Missing(const Answers& a, const LedgerFacts& l) {
  std::vector<std::string> out;
  if (!a.data_can_leave && !a.scores[kPrivacy]) out.emplace_back("data_can_leave");
  if (!a.monthly_tokens && !a.scores[kCostVolume] && !(l.present && l.tokens > 0)) {
    out.emplace_back("monthly_tokens");
  }
  if (!a.frontier && !a.scores[kCapability]) out.emplace_back("frontier_capability");
  if (!a.team && !a.scores[kOperations]) out.emplace_back("team_capacity");
  if (!a.scores[kCustomisation]) out.emplace_back("customisation");
  if (!a.scores[kLatency] && !(l.present && l.has_latency)) out.emplace_back("latency");
  return out;
}

std::string_view BandOf(int total) {
  if (total <= 12) return "closed";
  if (total <= 18) return "hybrid";
  if (total <= 24) return "open_primary";
  return "open_only";
}

Result<Scorecard> Score(const Answers& a, const LedgerFacts& l) {
  if (const auto missing = Missing(a, l); !missing.empty()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("not answered: {} (answer them in --answers, by flags, or "
                                      "on a terminal)",
                                      fmt::join(missing, ", "))));
  }
  if (a.data_can_leave == false && a.scores[kPrivacy] && *a.scores[kPrivacy] != 5) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("conflicting answers: data_can_leave is no, which scores "
                                      "privacy 5, but privacy is scored {}",
                                      *a.scores[kPrivacy])));
  }
  Scorecard s;
  auto set = [&](Dimension d, int v, std::string why) {
    s.scores[d] = v;
    s.why[d] = std::move(why);
  };
  // 1. Can the data leave?
  const double sensitive = SensitiveShare(l);
  if (a.scores[kPrivacy]) {
    set(kPrivacy, *a.scores[kPrivacy], "scored directly");
  } else if (!*a.data_can_leave) {
    set(kPrivacy, 5, "data may not leave your infrastructure");
  } else if (l.present && l.requests > 0) {
    const int v = sensitive == 0 ? 1 : sensitive < 0.05 ? 2 : sensitive < 0.25 ? 3 : 4;
    set(kPrivacy, v,
        fmt::format("{} of the ledger's requests carried class >= 3 data", Percent(sensitive)));
  } else {
    set(kPrivacy, 1, "data may leave; no ledger to say how much of it is sensitive");
  }
  s.privacy_override = a.data_can_leave.has_value() && !*a.data_can_leave;
  // 2. Monthly token volume.
  if (a.scores[kCostVolume]) {
    set(kCostVolume, *a.scores[kCostVolume], "scored directly");
  } else if (a.monthly_tokens) {
    set(kCostVolume, VolumeScore(static_cast<double>(*a.monthly_tokens)),
        fmt::format("{} tokens a month (answered)", *a.monthly_tokens));
  } else {
    const double monthly = l.tokens_per_day() * 30;
    set(kCostVolume, VolumeScore(monthly),
        fmt::format("{:.0f} tokens a month (the ledger: {:.0f} a day over {:.2f} days)", monthly,
                    l.tokens_per_day(), l.days));
  }
  // 3. Frontier capability.
  if (a.scores[kCapability]) {
    set(kCapability, *a.scores[kCapability], "scored directly");
  } else {
    const std::string& f = *a.frontier;
    set(kCapability,
        f == "required" ? 1
        : f == "some"   ? 3
                        : 5,
        fmt::format("frontier capability: {}", f));
  }
  // 4. Team capacity.
  if (a.scores[kOperations]) {
    set(kOperations, *a.scores[kOperations], "scored directly");
  } else {
    const std::string& t = *a.team;
    set(kOperations, t == "none" ? 1 : t == "some" ? 3 : 5, fmt::format("team capacity: {}", t));
  }
  set(kCustomisation, *a.scores[kCustomisation], "scored directly");
  if (a.scores[kLatency]) {
    set(kLatency, *a.scores[kLatency], "scored directly");
  } else {
    const int64_t p95 = l.p95_latency_ms;
    set(kLatency,
        p95 <= 500    ? 4
        : p95 <= 2000 ? 3
                      : 2,
        fmt::format("the ledger's p95 latency is {} ms: clients are used to {}", p95,
                    p95 <= 500    ? "fast answers"
                    : p95 <= 2000 ? "moderate latency"
                                  : "slow answers"));
  }
  for (int v : s.scores) s.total += v;
  s.band = std::string(BandOf(s.total));
  if (s.band == "closed") {
    s.recommendation =
        "Closed APIs first: buy capability; self-host only what must stay in (residency routes "
        "it).";
  } else if (s.band == "hybrid") {
    s.recommendation =
        "Hybrid: a self-hosted open model takes most traffic, hard requests escalate to a closed "
        "API.";
  } else if (s.band == "open_primary") {
    s.recommendation =
        "Open models primary: self-host for nearly everything, keep a closed API as the "
        "fallback for the hardest requests.";
  } else {
    s.recommendation = "Open models only: self-host everything.";
  }
  if (s.privacy_override) {
    s.recommendation =
        "Privacy override: data may not leave your infrastructure, and that decides on its own: "
        "self-hosted open models only, whatever the total (" +
        std::to_string(s.total) + ", " + s.band + ").";
  }
  for (const LedgerFacts::Route& r : l.routes) {
    Scorecard::Placement p{.route = r.name};
    if (s.privacy_override) {
      p.where = "self-hosted";
      p.why = "data may not leave";
    } else if (r.sensitive > 0) {
      p.where = "self-hosted";
      p.why = fmt::format("{} of its {} requests carried class >= 3 data (up to class {})",
                          r.sensitive, r.requests, r.max_class);
    } else {
      p.where = s.band == "closed"         ? "external API"
                : s.band == "hybrid"       ? "self-hosted first, escalate to external"
                : s.band == "open_primary" ? "self-hosted, external fallback"
                                           : "self-hosted";
      p.why = fmt::format("no class >= 3 data in {} requests; the band decides", r.requests);
    }
    s.placements.push_back(std::move(p));
  }
  return s;
}

std::string RenderTable(const Scorecard& s) {
  std::string out;
  for (size_t i = 0; i < kDimensions; ++i) {
    out += fmt::format("{:<14} {}  {}\n", kDimensionNames[i], s.scores[i], s.why[i]);
  }
  out += fmt::format("{:<14} {}  band {}{}\n", "TOTAL", s.total, s.band,
                     s.privacy_override ? " (overridden: data may not leave)" : "");
  out += s.recommendation + "\n";
  if (!s.placements.empty()) {
    out += "\nworkloads:\n";
    for (const auto& p : s.placements) {
      out += fmt::format("  {:<20} {:<40} {}\n", Cell(p.route, false), p.where, Cell(p.why, false));
    }
  }
  return out;
}

std::string RenderJson(const Scorecard& s, const LedgerFacts& l) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Key("scores").BeginObject();
  for (size_t i = 0; i < kDimensions; ++i) {
    w.Key(kDimensionNames[i]).BeginObject().Field("score", s.scores[i]).Field("why", s.why[i]);
    w.EndObject();
  }
  w.EndObject()
      .Field("total", s.total)
      .Field("band", s.band)
      .Field("privacy_override", s.privacy_override)
      .Field("recommendation", s.recommendation)
      .Key("workloads")
      .BeginArray();
  for (const auto& p : s.placements) {
    w.BeginObject().Field("route", p.route).Field("where", p.where).Field("why", p.why).EndObject();
  }
  w.EndArray().Key("ledger").BeginObject().Field("present", l.present);
  if (l.present) {
    w.Field("days", l.days)
        .Field("requests", l.requests)
        .Field("tokens_per_day", l.tokens_per_day())
        .Field("p95_latency_ms", l.p95_latency_ms)
        .Key("requests_by_class")
        .BeginArray();
    for (int64_t n : l.by_class) w.Int(n);
    w.EndArray();
  }
  w.EndObject().EndObject();
  out += "\n";
  return out;
}

std::string RenderMarkdown(const Scorecard& s) {
  std::string out = "| dimension | score | why |\n|---|---|---|\n";
  for (size_t i = 0; i < kDimensions; ++i) {
    out += fmt::format("| {} | {} | {} |\n", kDimensionNames[i], s.scores[i], s.why[i]);
  }
  out +=
      fmt::format("| **total** | **{}** | band `{}` |\n\n{}\n", s.total, s.band, s.recommendation);
  if (!s.placements.empty()) {
    out += "\n| route | where | why |\n|---|---|---|\n";
    for (const auto& p : s.placements) {
      out += fmt::format("| {} | {} | {} |\n", Cell(p.route, true), p.where, Cell(p.why, true));
    }
  }
  return out;
}

}  // namespace hybridgate::advisor
