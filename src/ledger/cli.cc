#include "ledger/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <memory>

#include "ledger/ledger_config.h"
#include "ledger/report.h"

namespace hybridgate::ledger {
namespace {

constexpr int kBadInput = 2;

Error BadInput(std::string message) {
  return MakeError(ErrorCode::kInvalidRequest, std::move(message));
}

Result<std::string> ReportSource(const ReportOptions& o) {
  if (o.ledger.empty() == o.config.empty()) {
    return Fail(BadInput("exactly one of --ledger PATH|DSN or --config FILE is required"));
  }
  if (!o.ledger.empty()) return o.ledger;
  auto config = LoadLedgerConfig(o.config);
  if (!config) return Fail(config.error());
  return config->backend == "postgres" ? config->dsn : config->path;
}

Result<std::string> BuildReport(const ReportOptions& o) {
  auto by = ParseGroupBy(o.by);
  if (!by) return Fail(by.error());
  if (o.format != "table" && o.format != "csv" && o.format != "json") {
    return Fail(BadInput(
        fmt::format("--format: unknown format '{}' (expected table, csv or json)", o.format)));
  }
  int64_t since_ms = 0;
  if (!o.since.empty()) {
    auto window = ParseDuration(o.since);
    if (!window) return Fail(window.error());
    const int64_t now = o.now_ms >= 0 ? o.now_ms
                                      : std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count();
    since_ms = now - std::min(*window, now);
  }
  auto source = ReportSource(o);
  if (!source) return Fail(source.error());
  auto rows = LoadRows(*source, since_ms);
  if (!rows) return Fail(rows.error());
  const Report report = Aggregate(*rows, *by);
  if (o.format == "csv") return RenderCsv(report);
  if (o.format == "json") return RenderJson(report);
  return RenderTable(report);
}

}  // namespace

int RunReport(const ReportOptions& options, std::ostream& out, std::ostream& err) {
  Result<std::string> text = Fail(BadInput("not run"));
  try {
    text = BuildReport(options);
  } catch (const std::exception& e) {
    text = Fail(MakeError(ErrorCode::kInternal, fmt::format("internal error: {}", e.what())));
  }
  if (!text) {
    err << "report: error: " << text.error().message << "\n";
    return kBadInput;
  }
  out << *text;
  out.flush();
  return 0;
}

CLI::App* AddReportCommand(CLI::App& root, int& exit_code) {
  auto o = std::make_shared<ReportOptions>();
  CLI::App* cmd = root.add_subcommand(
      "report", "Cost report from the ledger: requests, tokens, cost, latency per group");
  cmd->add_option("--ledger", o->ledger, "SQLite ledger file or PostgreSQL DSN");
  cmd->add_option("--config", o->config, "Gateway config; reads its ledger: section");
  cmd->add_option("--since", o->since, "Only the last N s|m|h|d|w (e.g. 7d, 24h, 30m)");
  cmd->add_option("--by", o->by, "Group by route | tier | provider | model | key | team")
      ->capture_default_str();
  cmd->add_option("--format", o->format, "table | csv | json")->capture_default_str();
  cmd->callback([o, &exit_code] { exit_code = RunReport(*o, std::cout, std::cerr); });
  return cmd;
}

}  // namespace hybridgate::ledger
