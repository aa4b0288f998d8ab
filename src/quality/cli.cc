#include "quality/cli.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "config/config.h"
#include "ledger/ledger_config.h"
#include "ledger/report.h"
#include "ledger/sink.h"
#include "quality/export.h"
#include "quality/feedback.h"
#include "quality/report.h"
#include "quality/store_config.h"

namespace hybridgate::quality {
namespace {

constexpr int kBadInput = 2;
constexpr int kRefused = 1;  // export: answers were refused

Error BadInput(std::string message) {
  return MakeError(ErrorCode::kInvalidRequest, std::move(message));
}

Result<std::string> BuildReport(const ReportOptions& o) {
  if (o.config.empty()) return Fail(BadInput("--config FILE is required"));
  if (o.format != "table" && o.format != "csv" && o.format != "json") {
    return Fail(BadInput(
        fmt::format("--format: unknown format '{}' (expected table, csv or json)", o.format)));
  }
  auto since_ms = WindowStartMs(o.since, o.now_ms);
  if (!since_ms) return Fail(since_ms.error());
  auto config = config::LoadConfig(o.config);
  if (!config) return Fail(config.error());
  ReportInput input{.since_ms = *since_ms, .route = o.route};
  auto comparisons = LoadConfiguredComparisons(*config, *since_ms);
  if (!comparisons) return Fail(comparisons.error());
  input.comparisons = std::move(*comparisons);
  const StoreConfig store = ResolveStoreConfig(*config);
  auto feedback = FeedbackStore::Load(StoreSource(store), *since_ms);
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

// Writes `text` to `path` (after everything was read, so a failed export leaves no file).
Status WriteOut(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) {
    return Fail(BadInput(fmt::format("--out: cannot write '{}': {}", path, std::strerror(errno))));
  }
  f << text;
  f.flush();
  if (!f) return Fail(BadInput(fmt::format("--out: writing '{}' failed", path)));
  return {};
}

// The export's lines and summary; the exit code is the caller's.
Result<ExportSummary> BuildExport(const ExportOptions& o, std::string& lines, std::string& route) {
  if (o.config.empty()) return Fail(BadInput("--config FILE is required"));
  if (o.route.empty()) return Fail(BadInput("--route R is required"));
  if (o.format != "openai-jsonl") {
    return Fail(
        BadInput(fmt::format("--format: unknown format '{}' (expected openai-jsonl)", o.format)));
  }
  auto since_ms = WindowStartMs(o.since, o.now_ms);
  if (!since_ms) return Fail(since_ms.error());
  auto config = config::LoadConfig(o.config);
  if (!config) return Fail(config.error());
  const routing::Route* r = config->routes.Find(o.route);
  if (r == nullptr) {
    std::string known;
    for (const routing::Route& each : config->routes.routes) {
      known += (known.empty() ? "" : ", ") + each.name;
    }
    return Fail(BadInput(fmt::format("--route: {} has no route '{}' (its routes: {})", o.config,
                                     o.route, known.empty() ? "none" : known)));
  }
  route = r->name;
  if (!o.out.empty()) {
    // Refuse an unwritable --out before reading anything.
    const std::filesystem::path dir = std::filesystem::path(o.out).parent_path();
    if (access(dir.empty() ? "." : dir.c_str(), W_OK) != 0 ||
        (std::filesystem::exists(o.out) && access(o.out.c_str(), W_OK) != 0)) {
      return Fail(
          BadInput(fmt::format("--out: cannot write '{}': {}", o.out, std::strerror(errno))));
    }
  }
  auto comparisons = LoadConfiguredComparisons(*config, *since_ms);
  if (!comparisons) return Fail(comparisons.error());
  ExportSummary summary;
  const TrainableCheck trainable = TrainableFromConfig(*config);
  for (const StoredComparison& row : *comparisons) {
    if (row.comparison.route == route) ExportRow(row, trainable, lines, summary);
  }
  if (!o.out.empty()) {
    if (Status s = WriteOut(o.out, lines); !s) return Fail(s.error());
  }
  return summary;
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

int RunQualityExport(const ExportOptions& options, std::ostream& out, std::ostream& err) {
  std::string lines, route;
  Result<ExportSummary> summary = Fail(BadInput("not run"));
  try {
    summary = BuildExport(options, lines, route);
  } catch (const std::exception& e) {
    summary = Fail(MakeError(ErrorCode::kInternal, fmt::format("internal error: {}", e.what())));
  }
  if (!summary) {
    err << "quality export: error: " << summary.error().message << "\n";
    return kBadInput;
  }
  if (options.out.empty()) {
    out << lines;
    out.flush();
  }
  err << DescribeExport(*summary, route);
  return summary->refused_answers() > 0 ? kRefused : 0;
}

Result<int64_t> WindowStartMs(const std::string& since, int64_t now_ms) {
  if (since.empty()) return int64_t{0};
  auto window = ledger::ParseDuration(since);
  if (!window) return Fail(window.error());
  const int64_t now = now_ms >= 0 ? now_ms
                                  : std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count();
  return now - std::min(*window, now);
}

Result<std::vector<StoredComparison>> LoadConfiguredComparisons(const config::Config& config,
                                                                int64_t since_ms) {
  const StoreConfig store = ResolveStoreConfig(config);
  const std::string& source = StoreSource(store);
  if (store.backend == "postgres" && source.empty()) {
    return Fail(BadInput(fmt::format(
        "{}: the quality store is on PostgreSQL but has no dsn (quality.dsn, quality.dsn_env or "
        "the ledger's)",
        config.source)));
  }
  if (store.backend != "postgres" && !std::filesystem::exists(source)) {
    return Fail(BadInput(fmt::format(
        "no quality store at '{}' (the gateway creates it when it first runs)", source)));
  }
  return ComparisonStore::Load(source, since_ms);
}

Result<std::optional<ledger::JoinedColumns>> JoinQualityColumns(
    const ledger::ReportJoinInput& input) {
  if (input.by != ledger::GroupBy::kRoute) return std::optional<ledger::JoinedColumns>();
  auto config = config::LoadConfig(input.config);
  if (!config) return Fail(config.error());
  const StoreConfig store = ResolveStoreConfig(*config);
  if (store.backend != "postgres" && !std::filesystem::exists(store.path)) {
    return std::optional<ledger::JoinedColumns>();
  }
  auto comparisons = LoadConfiguredComparisons(*config, input.since_ms);
  if (!comparisons) return Fail(comparisons.error());
  const QualityReport report =
      BuildQualityReport({.since_ms = input.since_ms, .comparisons = std::move(*comparisons)});
  return std::optional<ledger::JoinedColumns>(ReportJoinColumns(report));
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

  auto e = std::make_shared<ExportOptions>();
  CLI::App* exp = quality->add_subcommand(
      "export",
      "A route's stored comparisons as a fine-tuning set (OpenAI chat JSONL): the primary's "
      "answer, or the shadow's when a judge preferred it; answers from models whose outputs may "
      "not be used for training (outputs_trainable) are refused (exit 1)");
  exp->add_option("--config", e->config, "Gateway config; reads its quality: and providers")
      ->required();
  exp->add_option("--route", e->route, "The route whose comparisons to export")->required();
  exp->add_option("--since", e->since, "Only the last N s|m|h|d|w (e.g. 30d, 24h)");
  exp->add_option("--format", e->format, "openai-jsonl")->capture_default_str();
  exp->add_option("--out", e->out, "Write here instead of stdout");
  exp->callback([e, &exit_code] { exit_code = RunQualityExport(*e, std::cout, std::cerr); });
  return quality;
}

}  // namespace hybridgate::quality
