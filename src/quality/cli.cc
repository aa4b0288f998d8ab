#include "quality/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "config/config.h"
#include "ledger/ledger_config.h"
#include "ledger/report.h"
#include "ledger/sink.h"
#include "quality/report.h"
#include "quality/store_config.h"

namespace hybridgate::quality {
namespace {

constexpr int kBadInput = 2;

Error BadInput(std::string message) {
  return MakeError(ErrorCode::kInvalidRequest, std::move(message));
}

Result<int64_t> SinceMs(const ReportOptions& o) {
  if (o.since.empty()) return int64_t{0};
  auto window = ledger::ParseDuration(o.since);
  if (!window) return Fail(window.error());
  const int64_t now = o.now_ms >= 0 ? o.now_ms
                                    : std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count();
  return now - std::min(*window, now);
}

Result<std::string> BuildReport(const ReportOptions& o) {
  if (o.config.empty()) return Fail(BadInput("--config FILE is required"));
  if (o.format != "table" && o.format != "csv" && o.format != "json") {
    return Fail(BadInput(
        fmt::format("--format: unknown format '{}' (expected table, csv or json)", o.format)));
  }
  auto since_ms = SinceMs(o);
  if (!since_ms) return Fail(since_ms.error());
  auto config = config::LoadConfig(o.config);
  if (!config) return Fail(config.error());
  const StoreConfig store = ResolveStoreConfig(*config);
  const std::string& source = StoreSource(store);
  if (store.backend == "postgres" && source.empty()) {
    return Fail(BadInput(fmt::format(
        "{}: the quality store is on PostgreSQL but has no dsn (quality.dsn, quality.dsn_env or "
        "the ledger's)",
        o.config)));
  }
  if (store.backend != "postgres" && !std::filesystem::exists(source)) {
    return Fail(BadInput(fmt::format(
        "no quality store at '{}' (the gateway creates it when it first runs)", source)));
  }
  ReportInput input{.since_ms = *since_ms, .route = o.route};
  auto comparisons = ComparisonStore::Load(source, *since_ms);
  if (!comparisons) return Fail(comparisons.error());
  input.comparisons = std::move(*comparisons);
  auto feedback = FeedbackStore::Load(source, *since_ms);
  if (!feedback) return Fail(feedback.error());
  input.feedback = std::move(*feedback);
  ledger::LedgerConfig lc = config->ledger;
  ledger::ResolvePaths(lc, config->source);
  if (lc.enabled) {
    std::map<std::string, RouteTraffic, std::less<>> traffic;
    const std::string& ledger_source = lc.backend == "postgres" ? lc.dsn : lc.path;
    if (lc.backend == "postgres" || std::filesystem::exists(ledger_source)) {
      Status scanned = ledger::ScanRows(ledger_source, {.since_ms = *since_ms},
                                        [&](const ledger::Row& row) -> Status {
                                          CountTraffic(row, traffic);
                                          return {};
                                        });
      if (!scanned) return Fail(scanned.error());
    }
    input.traffic = std::move(traffic);
  }
  const QualityReport report = BuildQualityReport(input);
  if (o.format == "json") return RenderQualityJson(report);
  if (o.format == "csv") return RenderQualityCsv(report);
  return RenderQualityTable(report);
}

}  // namespace

int RunQualityReport(const ReportOptions& options, std::ostream& out, std::ostream& err) {
  Result<std::string> text = Fail(BadInput("not run"));
  try {
    text = BuildReport(options);
  } catch (const std::exception& e) {
    text = Fail(MakeError(ErrorCode::kInternal, fmt::format("internal error: {}", e.what())));
  }
  if (!text) {
    err << "quality report: error: " << text.error().message << "\n";
    return kBadInput;
  }
  out << *text;
  out.flush();
  return 0;
}

CLI::App* AddQualityCommand(CLI::App& root, int& exit_code) {
  CLI::App* quality =
      root.add_subcommand("quality", "Quality of shadow deployments and user feedback");
  quality->require_subcommand(1);
  auto o = std::make_shared<ReportOptions>();
  CLI::App* report = quality->add_subcommand(
      "report",
      "Per route and shadow deployment: comparisons, mean score per comparator with a 95% "
      "interval, win/tie/loss, feedback rate and score, cost per 1k requests and per quality "
      "point");
  report->add_option("--config", o->config, "Gateway config; reads its quality: and ledger:")
      ->required();
  report->add_option("--route", o->route, "Only this route");
  report->add_option("--since", o->since, "Only the last N s|m|h|d|w (e.g. 7d, 24h, 30m)");
  report->add_option("--format", o->format, "table | json | csv")->capture_default_str();
  report->callback([o, &exit_code] { exit_code = RunQualityReport(*o, std::cout, std::cerr); });
  return quality;
}

}  // namespace hybridgate::quality
