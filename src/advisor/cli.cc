#include "advisor/cli.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "advisor/scorecard.h"
#include "common/clock.h"
#include "config/config.h"
#include "ledger/ledger_config.h"
#include "ledger/report.h"
#include "ledger/sink.h"

namespace hybridgate::advisor {
namespace {

constexpr int kBadInput = 2;

struct Options {
  std::string config;
  std::string since = "30d";
  std::string answers;
  std::vector<std::string> set;  // key=value
  std::string format = "table";
};

// What the config's ledger shows since `since_ms`.
Result<LedgerFacts> ReadLedger(const std::string& config_path, int64_t since_ms, int64_t now_ms) {
  LedgerFacts facts;
  auto cfg = config::LoadConfig(config_path, /*check_licences=*/false);
  if (!cfg) return Fail(cfg.error());
  ledger::LedgerConfig lc = cfg->ledger;
  ledger::ResolvePaths(lc, cfg->source);
  const std::string& source = lc.backend == "postgres" ? lc.dsn : lc.path;
  if (!lc.enabled || (lc.backend != "postgres" && !std::filesystem::exists(source))) return facts;
  std::vector<int64_t> latencies;
  std::map<std::string, LedgerFacts::Route> routes;
  int64_t first_ms = now_ms;
  HG_TRY(ledger::ScanRows(source, {.since_ms = since_ms}, [&](const ledger::Row& row) -> Status {
    // Requests that were planned: a provider was chosen, or residency refused them (403). A
    // request refused before (an unknown model, a bad body, a key) says nothing about the
    // workload, and its "route" is whatever the client wrote.
    if (row.provider.empty() && row.status != 403) return {};
    ++facts.requests;
    facts.tokens += row.input_tokens + row.output_tokens;
    facts.by_class[std::clamp<int64_t>(row.data_class, 0, 5)] += 1;
    if (row.status < 400) latencies.push_back(row.latency_ms);
    first_ms = std::min(first_ms, row.time_ms);
    LedgerFacts::Route& r = routes[row.route.empty() ? "(no route)" : row.route];
    ++r.requests;
    if (row.data_class >= 3) ++r.sensitive;
    r.max_class = std::max(r.max_class, static_cast<int>(row.data_class));
    return {};
  }));
  if (facts.requests == 0) return facts;
  facts.present = true;
  // Over the time the ledger covers in the window, at least an hour.
  facts.days = static_cast<double>(std::max<int64_t>(now_ms - first_ms, 3'600'000)) / 86'400'000;
  facts.has_latency = !latencies.empty();
  if (!latencies.empty()) {
    const size_t at = (latencies.size() * 95 + 99) / 100 - 1;
    std::nth_element(latencies.begin(), latencies.begin() + static_cast<long>(at), latencies.end());
    facts.p95_latency_ms = latencies[at];
  }
  for (auto& [name, r] : routes) {
    r.name = name;
    facts.routes.push_back(std::move(r));
  }
  return facts;
}

// The terminal form: each question still unanswered, asked until it gets a valid answer.
bool AskMissing(Answers& a, const LedgerFacts& l) {
  static const std::map<std::string, std::string> kPrompts = {
      {"data_can_leave", "May your data leave your own infrastructure? (yes/no)"},
      {"monthly_tokens", "Tokens a month, input and output together (a whole number)"},
      {"frontier_capability",
       "Do you need frontier (closed-model) capability? (required/some/none)"},
      {"team_capacity", "What can your team run? (none/some/dedicated)"},
      {"customisation",
       "How much customisation (fine-tuning) do you need? (1 none .. 5 essential)"},
      {"latency", "How strict are your latency needs? (1 relaxed .. 5 strict)"},
  };
  for (const std::string& key : Missing(a, l)) {
    for (;;) {
      std::cerr << kPrompts.at(key) << ": " << std::flush;
      std::string line;
      if (!std::getline(std::cin, line)) return false;
      if (auto s = SetAnswer(a, key, line); s)
        break;
      else
        std::cerr << "  " << s.error().message << "\n";
    }
  }
  return true;
}

int RunScorecard(const Options& o) {
  Answers answers;
  if (!o.answers.empty()) {
    std::ifstream in(o.answers, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      std::cerr << "advise scorecard: --answers " << o.answers << ": cannot read it\n";
      return kBadInput;
    }
    auto parsed = ParseAnswers(text.str(), o.answers);
    if (!parsed) {
      std::cerr << "advise scorecard: " << parsed.error().message << "\n";
      return kBadInput;
    }
    answers = std::move(*parsed);
  }
  for (const std::string& kv : o.set) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) {
      std::cerr << "advise scorecard: --answer " << kv << ": expected key=value\n";
      return kBadInput;
    }
    if (auto s = SetAnswer(answers, kv.substr(0, eq), kv.substr(eq + 1)); !s) {
      std::cerr << "advise scorecard: " << s.error().message << "\n";
      return kBadInput;
    }
  }
  LedgerFacts ledger;
  auto window = ledger::ParseDuration(o.since);
  if (!window) {
    std::cerr << "advise scorecard: " << window.error().message << "\n";
    return kBadInput;
  }
  if (!o.config.empty()) {
    const int64_t now = UnixMs();
    auto read = ReadLedger(o.config, now - *window, now);
    if (!read) {
      std::cerr << "advise scorecard: " << read.error().message << "\n";
      return kBadInput;
    }
    ledger = std::move(*read);
  }
  if (!Missing(answers, ledger).empty() && isatty(STDIN_FILENO) && !AskMissing(answers, ledger)) {
    std::cerr << "\nadvise scorecard: no answer\n";
    return kBadInput;
  }
  auto card = Score(answers, ledger);
  if (!card) {
    std::cerr << "advise scorecard: " << card.error().message << "\n";
    return kBadInput;
  }
  if (o.format == "json") {
    std::cout << RenderJson(*card, ledger);
  } else if (o.format == "md") {
    std::cout << RenderMarkdown(*card);
  } else {
    std::cout << RenderTable(*card);
  }
  return 0;
}

}  // namespace

void AddAdviseCommand(CLI::App& app, int& exit_code) {
  CLI::App* advise =
      app.add_subcommand("advise", "The open-vs-closed decision, from your answers and ledger");
  advise->require_subcommand(1);
  auto o = std::make_shared<Options>();
  CLI::App* sc = advise->add_subcommand(
      "scorecard",
      "The six-dimension scorecard (6-30: closed, hybrid, open primary, open only), with the "
      "privacy override and where each route's workload belongs");
  sc->add_option("--config,-c", o->config, "gateway config: its ledger pre-fills answers");
  sc->add_option("--since", o->since, "the ledger window (30d)");
  sc->add_option("--answers", o->answers,
                 "YAML: data_can_leave, monthly_tokens, frontier_capability, team_capacity, "
                 "scores: {capability, privacy, cost_volume, operations, customisation, latency}");
  sc->add_option("--answer", o->set, "key=value, as in --answers (repeatable; wins over it)");
  sc->add_option("--format", o->format, "table | json | md")
      ->check(CLI::IsMember({"table", "json", "md"}));
  sc->callback([o, &exit_code] { exit_code = RunScorecard(*o); });
}

}  // namespace hybridgate::advisor
