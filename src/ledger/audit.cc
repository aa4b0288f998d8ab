#include "ledger/audit.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <tuple>

#include "common/json_writer.h"

namespace hybridgate::ledger {
namespace {

std::string EscapeProvider(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == '%') {
      out += "%25";
    } else if (c == ':') {
      out += "%3A";
    } else if (c == ';') {
      out += "%3B";
    } else {
      out += c;
    }
  }
  return out;
}

std::string UnescapeProvider(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const std::string_view rest = text.substr(i);
    if (rest.starts_with("%25")) {
      out += '%';
    } else if (rest.starts_with("%3A")) {
      out += ':';
    } else if (rest.starts_with("%3B")) {
      out += ';';
    } else {
      out += text[i];
      continue;
    }
    i += 2;
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    const size_t at = text.find(sep, start);
    parts.push_back(text.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

// The code name of an attempt the egress gate refused (ErrorCode::kPolicyBlocked).
constexpr std::string_view kRefusedAtGate = "policy_blocked";

std::string_view OrNone(std::string_view s) { return s.empty() ? "(none)" : s; }

std::string FormatTime(int64_t ms) {
  return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC",
                     std::chrono::sys_seconds(std::chrono::seconds(ms / 1000)));
}

std::string DescribeViolation(const Violation& v) {
  return fmt::format(
      "seq {} (id {}, {}): data class {} sent to {} ({}, max_data_class {}), attempt {}: {}", v.seq,
      v.id, FormatTime(v.time_ms), v.data_class, OrNone(v.hop.provider),
      v.hop.zone.empty() ? "zone unknown" : v.hop.zone, v.hop.max_data_class, v.attempt,
      v.hop.result.empty() ? "(no result)" : v.hop.result);
}

std::string Verdict(const AuditReport& r) {
  if (r.violations.empty()) {
    return fmt::format(
        "no violations: no request reached a provider whose max_data_class was below its data "
        "class ({} requests, {} upstream attempts checked, {} refused at the egress gate{})",
        r.requests - r.unchecked, r.upstream_attempts, r.refused_at_gate,
        r.unchecked > 0
            ? fmt::format("; {} rows predate residency facts and were not checked", r.unchecked)
            : std::string());
  }
  if (r.violations.size() == 1) {
    return "1 VIOLATION: a request reached a provider whose max_data_class was below its data "
           "class:";
  }
  return fmt::format(
      "{} VIOLATIONS: requests reached a provider whose max_data_class was below their data "
      "class:",
      r.violations.size());
}

}  // namespace

std::string FormatEgress(std::span<const EgressHop> hops) {
  std::string out;
  for (const EgressHop& h : hops) {
    if (!out.empty()) out += ';';
    out +=
        fmt::format("{}:{}:{}:{}", EscapeProvider(h.provider), h.zone, h.max_data_class, h.result);
  }
  return out;
}

std::vector<EgressHop> ParseEgress(std::string_view text) {
  std::vector<EgressHop> hops;
  if (text.empty()) return hops;
  for (std::string_view entry : Split(text, ';')) {
    EgressHop& hop = hops.emplace_back();
    const std::vector<std::string_view> f = Split(entry, ':');
    int64_t max_class = 0;
    if (f.size() != 4 || std::from_chars(f[2].data(), f[2].data() + f[2].size(), max_class).ptr !=
                             f[2].data() + f[2].size()) {
      hop.provider = std::string(entry);
      continue;
    }
    hop.provider = UnescapeProvider(f[0]);
    hop.zone = f[1];
    hop.max_data_class = max_class;
    hop.result = f[3];
  }
  return hops;
}

std::string JoinFindingTypes(std::vector<std::string> types) {
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  std::string out;
  for (const std::string& t : types) {
    if (!out.empty()) out += ',';
    out += t;
  }
  return out;
}

void AuditBuilder::Add(const Row& row) {
  AuditReport& r = report_;
  ++r.requests;
  const std::string_view zone = OrNone(row.provider_zone), provider = OrNone(row.provider);
  auto it = std::find_if(r.groups.begin(), r.groups.end(), [&](const ResidencyGroup& g) {
    return g.data_class == row.data_class && g.zone == zone && g.provider == provider &&
           g.max_data_class == row.provider_max_class;
  });
  if (it == r.groups.end()) {
    it = r.groups.insert(r.groups.end(), ResidencyGroup{.data_class = row.data_class,
                                                        .zone = std::string(zone),
                                                        .provider = std::string(provider),
                                                        .max_data_class = row.provider_max_class});
  }
  ++it->requests;
  const std::string_view action = row.residency_action;
  (action == "none"     ? it->none
   : action == "route"  ? it->route
   : action == "redact" ? it->redact
   : action == "block"  ? it->block
                        : it->other)++;
  if (action.empty()) {
    ++r.unchecked;  // written before the ledger recorded residency facts
    return;
  }
  std::vector<EgressHop> hops = ParseEgress(row.egress);
  if (hops.empty() && !row.provider.empty()) {
    hops.push_back({row.provider, row.provider_zone, row.provider_max_class, ""});
  }
  for (size_t i = 0; i < hops.size(); ++i) {
    if (hops[i].result == kRefusedAtGate) {
      ++r.refused_at_gate;
      continue;
    }
    ++r.upstream_attempts;
    if (action == "redact") continue;  // the findings were replaced before anything left
    // An unknown ceiling (0) on an attempt that left is itself a failure to prove residency.
    if (hops[i].max_data_class > 0 && row.data_class <= hops[i].max_data_class) continue;
    r.violations.push_back({.seq = row.seq,
                            .id = row.id,
                            .time_ms = row.time_ms,
                            .data_class = row.data_class,
                            .attempt = static_cast<int>(i + 1),
                            .hop = std::move(hops[i])});
  }
}

AuditReport AuditBuilder::Finish() {
  std::sort(report_.groups.begin(), report_.groups.end(),
            [](const ResidencyGroup& a, const ResidencyGroup& b) {
              return std::tie(a.data_class, a.zone, a.provider, a.max_data_class) <
                     std::tie(b.data_class, b.zone, b.provider, b.max_data_class);
            });
  return std::move(report_);
}

AuditReport Audit(std::span<const Row> rows, int64_t since_ms) {
  AuditBuilder b(since_ms);
  for (const Row& row : rows) b.Add(row);
  return b.Finish();
}

std::string RenderAuditTable(const AuditReport& r) {
  constexpr size_t kCols = 10;
  const std::array<std::string_view, kCols> headers = {
      "class", "zone",  "provider", "max_class", "requests",
      "none",  "route", "redact",   "block",     "unknown"};
  std::vector<std::array<std::string, kCols>> lines;
  ResidencyGroup total;
  for (const ResidencyGroup& g : r.groups) {
    lines.push_back({fmt::format("{}", g.data_class), g.zone, g.provider,
                     g.max_data_class > 0 ? fmt::format("{}", g.max_data_class) : "-",
                     fmt::format("{}", g.requests), fmt::format("{}", g.none),
                     fmt::format("{}", g.route), fmt::format("{}", g.redact),
                     fmt::format("{}", g.block), fmt::format("{}", g.other)});
    total.requests += g.requests;
    total.none += g.none;
    total.route += g.route;
    total.redact += g.redact;
    total.block += g.block;
    total.other += g.other;
  }
  lines.push_back({"TOTAL", "", "", "", fmt::format("{}", total.requests),
                   fmt::format("{}", total.none), fmt::format("{}", total.route),
                   fmt::format("{}", total.redact), fmt::format("{}", total.block),
                   fmt::format("{}", total.other)});
  std::array<size_t, kCols> width{};
  for (size_t c = 0; c < kCols; ++c) {
    width[c] = headers[c].size();
    for (const auto& line : lines) width[c] = std::max(width[c], line[c].size());
  }
  std::string out = r.since_ms > 0 ? fmt::format("Data residency: {} requests since {}\n",
                                                 r.requests, FormatTime(r.since_ms))
                                   : fmt::format("Data residency: {} requests\n", r.requests);
  auto emit = [&](auto&& cell) {
    for (size_t c = 0; c < kCols; ++c) {
      // Zone and provider are left-aligned, numbers right-aligned.
      if (c == 1 || c == 2) {
        out += fmt::format("{}{:<{}}", c ? "  " : "", cell(c), width[c]);
      } else {
        out += fmt::format("{}{:>{}}", c ? "  " : "", cell(c), width[c]);
      }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
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
  out += '\n';
  out += Verdict(r);
  out += '\n';
  for (const Violation& v : r.violations) out += "  " + DescribeViolation(v) + '\n';
  return out;
}

std::string RenderAuditJson(const AuditReport& r) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject()
      .Field("since_ms", r.since_ms)
      .Field("requests", r.requests)
      .Field("upstream_attempts_checked", r.upstream_attempts)
      .Field("refused_at_egress_gate", r.refused_at_gate)
      .Field("unchecked_rows", r.unchecked)
      .Field("verdict", r.violations.empty() ? "no violations" : "violations")
      .Key("groups")
      .BeginArray();
  for (const ResidencyGroup& g : r.groups) {
    w.BeginObject()
        .Field("data_class", g.data_class)
        .Field("zone", g.zone)
        .Field("provider", g.provider)
        .Field("max_data_class", g.max_data_class)
        .Field("requests", g.requests)
        .Key("actions")
        .BeginObject()
        .Field("none", g.none)
        .Field("route", g.route)
        .Field("redact", g.redact)
        .Field("block", g.block)
        .Field("unknown", g.other)
        .EndObject()
        .EndObject();
  }
  w.EndArray().Key("violations").BeginArray();
  for (const Violation& v : r.violations) {
    w.BeginObject()
        .Field("seq", v.seq)
        .Field("id", v.id)
        .Field("time_ms", v.time_ms)
        .Field("data_class", v.data_class)
        .Field("attempt", v.attempt)
        .Field("provider", v.hop.provider)
        .Field("zone", v.hop.zone)
        .Field("max_data_class", v.hop.max_data_class)
        .Field("result", v.hop.result)
        .EndObject();
  }
  w.EndArray().EndObject();
  out += '\n';
  return out;
}

}  // namespace hybridgate::ledger
