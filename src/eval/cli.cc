#include "eval/cli.h"

#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "config/config.h"
#include "eval/run.h"
#include "gateway/request_log.h"
#include "ledger/ledger_config.h"
#include "limits/limits_config.h"
#include "quality/store_config.h"

namespace hybridgate::eval {
namespace {

constexpr int kBadInput = 2;

struct Options {
  std::string config;
  std::string suite;
  std::vector<std::string> models;
  std::string judge;
  std::string embedding;
  std::string key;
  std::string baseline;
  std::string out;
  double max_drop = 0.05;
  int concurrency = 4;
  std::string log_level = "error";
};

// A bar on stderr, redrawn in place, when stderr is a terminal.
void Progress(size_t done, size_t total) {
  constexpr int kWidth = 30;
  const int filled = total ? static_cast<int>(kWidth * done / total) : kWidth;
  std::cerr << fmt::format("\r[{}{}] {}/{}", std::string(filled, '#'),
                           std::string(kWidth - filled, ' '), done, total)
            << (done == total ? "\n" : "") << std::flush;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out.flush());
}

// The files the gateway keeps its state in: --out must never name one of them.
std::vector<std::string> StateFiles(const config::Config& cfg) {
  const std::filesystem::path dir = std::filesystem::path(cfg.source).parent_path();
  ledger::LedgerConfig lc = cfg.ledger;
  ledger::ResolvePaths(lc, cfg.source);
  std::vector<std::string> out = {
      lc.path, lc.anchor_path, limits::ResolveKeysDb(cfg.limits, cfg.source),
      quality::ResolveStoreConfig(cfg).path, (dir / cfg.responses.path).string()};
  for (size_t i = 0, n = out.size(); i < n; ++i) {
    if (out[i].empty()) continue;
    for (const char* suffix : {"-wal", "-shm", "-journal"}) out.push_back(out[i] + suffix);
  }
  return out;
}

// Whether `a` and `b` name the same file (either may not exist yet).
bool SameFile(const std::string& a, const std::string& b) {
  std::error_code ec1, ec2;
  const auto x = std::filesystem::weakly_canonical(a, ec1);
  const auto y = std::filesystem::weakly_canonical(b, ec2);
  return !ec1 && !ec2 && x == y;
}

int Eval(const Options& o) {
  if (!std::isfinite(o.max_drop)) {
    std::cerr << "eval: --max-drop must be a number from 0 to 1\n";
    return kBadInput;
  }
  auto cfg = config::LoadConfig(o.config);
  if (!cfg) {
    std::cerr << "eval: " << cfg.error().message << "\n";
    return kBadInput;
  }
  auto suite = LoadSuite(o.suite);
  if (!suite) {
    std::cerr << "eval: " << suite.error().message << "\n";
    return kBadInput;
  }
  std::map<std::string, double> baseline;
  if (!o.baseline.empty()) {
    std::ifstream in(o.baseline, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto parsed = in ? ParseBaseline(ss.str(), o.baseline)
                     : Result<std::map<std::string, double>>(Fail(
                           MakeError(ErrorCode::kInvalidRequest, o.baseline + ": cannot read it")));
    if (!parsed) {
      std::cerr << "eval: --baseline " << parsed.error().message << "\n";
      return kBadInput;
    }
    baseline = std::move(*parsed);
  }
  std::string md_path, json_path, svg_path;
  if (!o.out.empty()) {
    const std::filesystem::path out(o.out);
    md_path = o.out;
    json_path = std::filesystem::path(out).replace_extension(".json").string();
    svg_path = std::filesystem::path(out).replace_extension(".svg").string();
    if (json_path == md_path) md_path += ".md";
    std::vector<std::string> kept = {o.suite, o.config, o.baseline};
    for (std::string& state : StateFiles(*cfg)) kept.push_back(std::move(state));
    for (const std::string& written : {md_path, json_path, svg_path}) {
      for (const std::string& input : kept) {
        if (!input.empty() && SameFile(written, input)) {
          std::cerr << "eval: --out would overwrite " << input << " (with " << written << ")\n";
          return kBadInput;
        }
      }
    }
    // Writable, checked without truncating anything: the report is written after the run.
    if (!std::ofstream(md_path, std::ios::binary | std::ios::app)) {
      std::cerr << "eval: --out " << md_path << ": cannot write it\n";
      return kBadInput;
    }
  }
  // A client that hangs up must not end the process (the in-process gateway writes to sockets).
  ::signal(SIGPIPE, SIG_IGN);
  // SIGINT and SIGTERM stop the run instead of killing it, so the requests in flight are ended
  // and metered by the gateway's shutdown. Blocked before any thread starts; one thread waits.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::atomic<bool> stop{false}, finished{false};
  std::thread waiter([&] {
    const timespec tick{0, 100'000'000};
    while (!finished.load()) {
      if (sigtimedwait(&signals, nullptr, &tick) > 0) {
        stop = true;
        std::cerr << "\neval: interrupted: ending the requests in flight\n";
        return;
      }
    }
  });
  gateway::InitLogging(o.log_level);
  const RunOptions run{.models = o.models,
                       .judge = o.judge,
                       .embedding = o.embedding,
                       .key = o.key,
                       .concurrency = o.concurrency,
                       .suite_name = std::filesystem::path(o.suite).filename().string()};
  const bool tty = isatty(STDERR_FILENO) != 0;
  auto result = Run(std::move(*cfg), *suite, run, tty ? Progress : nullptr, stop);
  finished = true;
  waiter.join();
  gateway::ShutdownLogging();
  if (stop) {
    std::cerr << "eval: interrupted; no report written\n";
    return 130;
  }
  if (!result) {
    std::cerr << "eval: " << result.error().message << "\n";
    return kBadInput;
  }
  std::cout << RenderTable(*result);
  if (!o.out.empty()) {
    const std::string svg_name = std::filesystem::path(svg_path).filename().string();
    if (!WriteFile(md_path, RenderMarkdown(*result, svg_name)) ||
        !WriteFile(json_path, RenderJson(*result)) ||
        !WriteFile(svg_path, RenderSvg(*result, baseline))) {
      std::cerr << "eval: cannot write the report next to " << md_path << "\n";
      return kBadInput;
    }
    std::cout << fmt::format("wrote {}, {}, {}\n", md_path, json_path, svg_path);
  }
  const std::vector<std::string> regressions = Regressions(*result, baseline, o.max_drop);
  for (const std::string& r : regressions) std::cerr << "eval: REGRESSION " << r << "\n";
  const std::vector<std::string> unanswered = Unanswered(*result);
  for (const std::string& u : unanswered) std::cerr << "eval: FAILED " << u << "\n";
  return regressions.empty() && unanswered.empty() ? 0 : 1;
}

}  // namespace

void AddEvalCommand(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "eval",
      "Run a suite (JSONL: id, messages|prompt, reference?, schema?) through models via the "
      "gateway; exit 1 on a regression against --baseline or a model that answered nothing");
  cmd->add_option("--config,-c", o->config, "gateway config")->required();
  cmd->add_option("--suite,-s", o->suite, "suite JSONL")->required();
  cmd->add_option("--models,-m", o->models, "models to evaluate (comma-separated)")
      ->required()
      ->delimiter(',');
  cmd->add_option("--judge", o->judge, "a model that judges each answer against the reference");
  cmd->add_option("--embedding", o->embedding,
                  "an embeddings model: cosine of each answer and its reference");
  cmd->add_option("--key", o->key, "virtual key the requests are made (and paid) with")
      ->envname("HYBRIDGATE_API_KEY");
  cmd->add_option("--baseline", o->baseline, "an earlier run's JSON result");
  cmd->add_option("--max-drop", o->max_drop, "largest score drop below the baseline (0.05)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--out,-o", o->out,
                  "markdown report path; the JSON result and SVG chart are written beside it");
  cmd->add_option("--concurrency", o->concurrency, "cases in flight at once (4)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--log-level", o->log_level, "the in-process gateway's log level (error)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  cmd->callback([o, &exit_code] { exit_code = Eval(*o); });
}

}  // namespace hybridgate::eval
