#include "ledger/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>

#include "common/csv.h"
#include "common/json_writer.h"
#include "ledger/anchor.h"
#include "ledger/audit.h"
#include "ledger/chain.h"
#include "ledger/ledger_config.h"
#include "ledger/report.h"
#include "ledger/sink.h"

namespace hybridgate::ledger {
namespace {

constexpr int kBadInput = 2;
constexpr int kFound = 1;  // audit: violations; verify: a broken chain

Error BadInput(std::string message) {
  return MakeError(ErrorCode::kInvalidRequest, std::move(message));
}

Result<std::string> LedgerSource(const std::string& ledger, const std::string& config_file) {
  if (ledger.empty() == config_file.empty()) {
    return Fail(BadInput("exactly one of --ledger PATH|DSN or --config FILE is required"));
  }
  if (!ledger.empty()) return ledger;
  auto config = LoadLedgerConfig(config_file);
  if (!config) return Fail(config.error());
  if (!config->enabled) {
    return Fail(
        BadInput(fmt::format("{}: the ledger is disabled (ledger.enabled: false)", config_file)));
  }
  return config->backend == "postgres" ? config->dsn : config->path;
}

int64_t NowMs(int64_t pinned) {
  if (pinned >= 0) return pinned;
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The first row time a --since window admits; 0 (every row) when `since` is empty.
Result<int64_t> SinceMs(const std::string& since, int64_t pinned_now) {
  if (since.empty()) return int64_t{0};
  auto window = ParseDuration(since);
  if (!window) return Fail(window.error());
  const int64_t now = NowMs(pinned_now);
  return now - std::min(*window, now);
}

// Runs `body`, turning an error or an escaped exception into "<command>: error: ..." and exit 2.
template <class Body>
int RunCommand(std::string_view command, std::ostream& err, Body body) {
  Result<int> code = Fail(BadInput("not run"));
  try {
    code = body();
  } catch (const std::exception& e) {
    code = Fail(MakeError(ErrorCode::kInternal, fmt::format("internal error: {}", e.what())));
  }
  if (!code) {
    err << command << ": error: " << code.error().message << "\n";
    return kBadInput;
  }
  return *code;
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  return lines;
}

void RightTrim(std::string& s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
}

// The table with `join`'s columns after the ledger's (see cli.h). The ledger's table has one
// line per group between its header and its rule; a group whose name spans lines (it cannot
// come from a config) would misalign them, so then the joined columns follow as a table of
// their own.
std::string JoinTable(const Report& report, const JoinedColumns& join) {
  const std::string base = RenderTable(report);
  const std::vector<std::string_view> lines = SplitLines(base);
  const size_t columns = join.table_headers.size();
  std::vector<size_t> width(columns);
  for (size_t c = 0; c < columns; ++c) width[c] = join.table_headers[c].size();
  for (const auto& [name, joined] : join.groups) {
    for (const JoinedLine& l : joined) {
      for (size_t c = 0; c < columns && c < l.table_cells.size(); ++c) {
        width[c] = std::max(width[c], l.table_cells[c].size());
      }
    }
  }
  auto cells = [&](const std::vector<std::string>& v) {
    std::string out;
    for (size_t c = 0; c < columns; ++c) {
      const std::string_view cell = c < v.size() ? std::string_view(v[c]) : std::string_view();
      out += c == 0 ? fmt::format("  {:<{}}", cell, width[c])
                    : fmt::format("  {:>{}}", cell, width[c]);
    }
    return out;
  };
  auto joined_of = [&](const std::string& group) -> const std::vector<JoinedLine>* {
    auto it = join.groups.find(group);
    return it == join.groups.end() ? nullptr : &it->second;
  };
  std::string out;
  auto emit = [&out](std::string line) {
    RightTrim(line);
    out += line + '\n';
  };
  if (lines.size() != report.groups.size() + 3) {
    out = base;
    std::vector<std::string> header = {std::string(GroupByName(report.by))};
    size_t name_width = header[0].size();
    for (const GroupStats& g : report.groups) name_width = std::max(name_width, g.name.size());
    out += '\n';
    emit(fmt::format("{:<{}}", header[0], name_width) + cells(join.table_headers));
    for (const GroupStats& g : report.groups) {
      if (const auto* joined = joined_of(g.name)) {
        for (const JoinedLine& l : *joined) {
          emit(fmt::format("{:<{}}", g.name, name_width) + cells(l.table_cells));
        }
      }
    }
    return out;
  }
  const size_t base_width = lines[0].size();
  emit(std::string(lines[0]) + cells(join.table_headers));
  for (size_t i = 0; i < report.groups.size(); ++i) {
    const std::vector<JoinedLine>* joined = joined_of(report.groups[i].name);
    std::string line = fmt::format("{:<{}}", lines[i + 1], base_width);
    if (joined == nullptr || joined->empty()) {
      emit(line);
      continue;
    }
    emit(line + cells((*joined)[0].table_cells));
    for (size_t k = 1; k < joined->size(); ++k) {
      emit(std::string(base_width, ' ') + cells((*joined)[k].table_cells));
    }
  }
  const std::string extra_rule = cells(join.table_headers);
  emit(std::string(lines[report.groups.size() + 1]) + std::string(extra_rule.size(), '-'));
  emit(std::string(lines[report.groups.size() + 2]));
  return out;
}

// The CSV with `join`'s columns after the ledger's (see cli.h).
std::string JoinCsv(const Report& report, const JoinedColumns& join) {
  const Report empty{.by = report.by};
  std::string header = RenderCsv(empty);
  while (!header.empty() && header.back() == '\n') header.pop_back();
  const size_t ledger_columns =
      static_cast<size_t>(std::count(header.begin(), header.end(), ',')) + 1;
  auto cells = [&](const std::vector<std::string>& v) {
    std::string out;
    for (size_t c = 0; c < join.csv_headers.size(); ++c) {
      out += ',';
      if (c < v.size()) out += CsvField(v[c]);
    }
    return out;
  };
  std::string out = header + cells(join.csv_headers) + '\n';
  for (const GroupStats& g : report.groups) {
    Report one{.by = report.by};
    one.groups.push_back(g);
    std::string line = RenderCsv(one).substr(header.size() + 1);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    auto it = join.groups.find(g.name);
    if (it == join.groups.end() || it->second.empty()) {
      out += line + cells({}) + '\n';
      continue;
    }
    out += line + cells(it->second[0].csv_cells) + '\n';
    for (size_t k = 1; k < it->second.size(); ++k) {
      out += CsvField(g.name) + std::string(ledger_columns - 1, ',') +
             cells(it->second[k].csv_cells) + '\n';
    }
  }
  return out;
}

// The JSON with one more key, `join.name`: {group: [line, ...]} for the report's groups.
std::string JoinJson(const Report& report, const JoinedColumns& join) {
  std::string out = RenderJson(report);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  out.pop_back();  // the closing '}' of the report's object
  out += ',';
  JsonWriter w(out);
  w.Key(join.name).BeginObject();
  for (const GroupStats& g : report.groups) {
    auto it = join.groups.find(g.name);
    if (it == join.groups.end()) continue;
    w.Key(g.name).BeginArray();
    for (const JoinedLine& l : it->second) w.Raw(l.json);
    w.EndArray();
  }
  w.EndObject();
  out += "}\n";
  return out;
}

Result<std::string> BuildReport(const ReportOptions& o) {
  auto by = ParseGroupBy(o.by);
  if (!by) return Fail(by.error());
  if (o.format != "table" && o.format != "csv" && o.format != "json") {
    return Fail(BadInput(
        fmt::format("--format: unknown format '{}' (expected table, csv or json)", o.format)));
  }
  auto since_ms = SinceMs(o.since, o.now_ms);
  if (!since_ms) return Fail(since_ms.error());
  auto source = LedgerSource(o.ledger, o.config);
  if (!source) return Fail(source.error());
  auto rows = LoadRows(*source, *since_ms);
  if (!rows) return Fail(rows.error());
  const Report report = Aggregate(*rows, *by);
  std::optional<JoinedColumns> join;
  if (o.join && !o.config.empty()) {
    auto joined = o.join({.config = o.config, .since_ms = *since_ms, .by = *by});
    if (!joined) return Fail(joined.error());
    join = std::move(*joined);
  }
  if (o.format == "csv") return join ? JoinCsv(report, *join) : RenderCsv(report);
  if (o.format == "json") return join ? JoinJson(report, *join) : RenderJson(report);
  return join ? JoinTable(report, *join) : RenderTable(report);
}

}  // namespace

int RunReport(const ReportOptions& options, std::ostream& out, std::ostream& err) {
  return RunCommand("report", err, [&]() -> Result<int> {
    auto text = BuildReport(options);
    if (!text) return Fail(text.error());
    out << *text;
    out.flush();
    return 0;
  });
}

int RunAudit(const AuditOptions& o, std::ostream& out, std::ostream& err) {
  return RunCommand("audit", err, [&]() -> Result<int> {
    if (o.format != "table" && o.format != "json") {
      return Fail(BadInput(
          fmt::format("--format: unknown format '{}' (expected table or json)", o.format)));
    }
    auto since_ms = SinceMs(o.since, o.now_ms);
    if (!since_ms) return Fail(since_ms.error());
    auto source = LedgerSource(o.ledger, o.config);
    if (!source) return Fail(source.error());
    AuditBuilder builder(*since_ms);
    const RowQuery query{.since_ms = *since_ms, .order = RowOrder::kSeq};
    Status scanned = ScanRows(*source, query, [&](const Row& row) -> Status {
      builder.Add(row);
      return {};
    });
    if (!scanned) return Fail(scanned.error());
    const AuditReport report = builder.Finish();
    out << (o.format == "json" ? RenderAuditJson(report) : RenderAuditTable(report));
    out.flush();
    return report.violations.empty() ? 0 : kFound;
  });
}

namespace {

// The anchor `audit verify` compares against: --anchor, else the config's (AnchorPath), else
// "<file>.head" beside a SQLite --ledger; "" when there is none to look for.
Result<std::string> VerifyAnchorPath(const AuditOptions& o) {
  if (!o.anchor.empty()) return o.anchor;
  if (!o.config.empty()) {
    auto config = LoadLedgerConfig(o.config);
    if (!config) return Fail(config.error());
    return AnchorPath(*config);
  }
  if (IsPostgresDsn(o.ledger)) return std::string();
  return o.ledger + ".head";
}

}  // namespace

int RunAuditVerify(const AuditOptions& o, std::ostream& out, std::ostream& err) {
  return RunCommand("audit verify", err, [&]() -> Result<int> {
    auto source = LedgerSource(o.ledger, o.config);
    if (!source) return Fail(source.error());
    auto anchor_path = VerifyAnchorPath(o);
    if (!anchor_path) return Fail(anchor_path.error());
    std::optional<Anchor> anchor;
    if (!anchor_path->empty()) {
      auto read = ReadAnchor(*anchor_path);
      if (!read) return Fail(read.error());
      if (!*read && !o.anchor.empty()) {
        return Fail(BadInput(fmt::format("--anchor '{}': no such file", o.anchor)));
      }
      anchor = std::move(*read);
    }
    ChainVerifier verifier;
    std::string hash_at_anchor;
    int64_t last_seq = 0;
    Status scanned = ScanRows(*source, {.order = RowOrder::kSeq}, [&](const Row& row) -> Status {
      verifier.Add(row);
      if (anchor && row.seq == anchor->seq) hash_at_anchor = row.hash;
      last_seq = row.seq;
      return {};
    });
    if (!scanned) return Fail(scanned.error());
    const ChainCheck& check = verifier.result();
    if (!check.intact) {
      out << DescribeChainCheck(check) << "\n";
      out.flush();
      return kFound;
    }
    std::string line = DescribeChainCheck(check);
    if (anchor) {
      const std::string problem = AnchorContradiction(*anchor, hash_at_anchor, last_seq);
      if (!problem.empty()) {
        out << fmt::format("chain broken after seq {}: {} (anchor '{}')\n",
                           std::min(anchor->seq, last_seq), problem, *anchor_path);
        out.flush();
        return kFound;
      }
      line += fmt::format("; the anchor '{}' (seq {}) agrees", *anchor_path, anchor->seq);
    } else if (!anchor_path->empty()) {
      line += fmt::format("; no anchor at '{}', so rows cut off the end cannot be ruled out",
                          *anchor_path);
    } else {
      line +=
          "; no anchor configured (ledger.anchor_path), so rows cut off the end cannot be "
          "ruled out";
    }
    out << line << "\n";
    out.flush();
    return 0;
  });
}

CLI::App* AddReportCommand(CLI::App& root, int& exit_code, ReportJoin join) {
  auto o = std::make_shared<ReportOptions>();
  o->join = std::move(join);
  CLI::App* cmd = root.add_subcommand(
      "report", o->join ? "Cost report from the ledger: requests, tokens, cost, latency per group; "
                          "with --config and --by route, each route's shadow quality joined on"
                        : "Cost report from the ledger: requests, tokens, cost, latency per group");
  cmd->add_option("--ledger", o->ledger, "SQLite ledger file or PostgreSQL DSN");
  cmd->add_option("--config", o->config, "Gateway config; reads its ledger: section");
  cmd->add_option("--since", o->since, "Only the last N s|m|h|d|w (e.g. 7d, 24h, 30m)");
  cmd->add_option("--by", o->by, "Group by route | tier | provider | model | key | team")
      ->capture_default_str();
  cmd->add_option("--format", o->format, "table | csv | json")->capture_default_str();
  cmd->callback([o, &exit_code] { exit_code = RunReport(*o, std::cout, std::cerr); });
  return cmd;
}

CLI::App* AddAuditCommand(CLI::App& root, int& exit_code) {
  auto o = std::make_shared<AuditOptions>();
  CLI::App* cmd = root.add_subcommand(
      "audit",
      "Data residency from the ledger: requests per data class, zone and provider, and any "
      "request sent above a provider's max_data_class (exit 1 when there is one)");
  cmd->add_option("--ledger", o->ledger, "SQLite ledger file or PostgreSQL DSN");
  cmd->add_option("--config", o->config, "Gateway config; reads its ledger: section");
  cmd->add_option("--since", o->since, "Only the last N s|m|h|d|w (e.g. 30d, 24h)");
  cmd->add_option("--format", o->format, "table | json")->capture_default_str();
  CLI::App* verify = cmd->add_subcommand(
      "verify", "Check the ledger's hash chain: exit 0 when intact, 1 naming the first broken row");
  // The same options, so that both `audit --config F verify` and `audit verify --config F` work.
  verify->add_option("--ledger", o->ledger, "SQLite ledger file or PostgreSQL DSN");
  verify->add_option("--config", o->config, "Gateway config; reads its ledger: section");
  verify->add_option("--anchor", o->anchor,
                     "The chain's anchor file (default: the config's ledger.anchor_path, or "
                     "<ledger file>.head)");
  verify->callback([o, &exit_code] { exit_code = RunAuditVerify(*o, std::cout, std::cerr); });
  // CLI11 runs a parent's callback after its subcommand's: `audit verify` must not also audit.
  cmd->callback([o, verify, &exit_code] {
    if (verify->parsed()) return;
    exit_code = RunAudit(*o, std::cout, std::cerr);
  });
  return cmd;
}

}  // namespace hybridgate::ledger
