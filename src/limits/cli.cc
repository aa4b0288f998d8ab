#include "limits/cli.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>

#include "limits/keys.h"
#include "limits/limits_config.h"

namespace hybridgate::limits {
namespace {

constexpr int kBadInput = 2;

struct Options {
  std::string db, config;
  KeySpec spec;
  std::string budget, models;
  bool all = false;
  std::string id;
};

Error Bad(std::string message) { return MakeError(ErrorCode::kInvalidRequest, std::move(message)); }

// Runs `body`, turning an Error or a stray exception into a message and exit code 2.
template <class Body>
void RunCommand(std::string_view name, int& exit_code, Body&& body) {
  Status s;
  try {
    s = body();
  } catch (const std::exception& e) {
    s = Fail(MakeError(ErrorCode::kInternal, fmt::format("internal error: {}", e.what())));
  }
  if (s) {
    exit_code = 0;
    return;
  }
  std::fprintf(stderr, "keys %.*s: error: %s\n", static_cast<int>(name.size()), name.data(),
               s.error().message.c_str());
  exit_code = kBadInput;
}

Result<std::unique_ptr<KeyStore>> OpenStore(const Options& o) {
  if (o.db.empty() == o.config.empty()) return Fail(Bad("give exactly one of --db or --config"));
  if (!o.db.empty()) return KeyStore::Open(o.db);
  YAML::Node root;
  try {
    root = YAML::LoadFile(o.config);
  } catch (const YAML::Exception& e) {
    return Fail(Bad(fmt::format("{}: {}", o.config, e.what())));
  }
  auto cfg = ParseLimitsConfig(root.IsMap() ? root["limits"] : YAML::Node(), o.config);
  if (!cfg) return Fail(cfg.error());
  return KeyStore::Open(ResolveKeysDb(*cfg, o.config));
}

Result<std::optional<Budget>> BudgetOption(const std::string& text) {
  if (text.empty() || text == "none") return std::optional<Budget>();
  auto b = ParseBudget(text);
  if (!b) return Fail(b.error());
  return std::optional<Budget>(*b);
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

std::string Date(int64_t unix) {
  return FormatUtc(WallTime(std::chrono::seconds(unix))).substr(0, 10);
}

Status Create(Options& o) {
  auto budget = BudgetOption(o.budget);
  if (!budget) return Fail(budget.error());
  o.spec.budget = *budget;
  o.spec.models = SplitList(o.models);
  auto store = OpenStore(o);
  if (!store) return Fail(store.error());
  auto created = (*store)->Create(o.spec);
  if (!created) return Fail(created.error());
  std::printf("%s\n", created->secret.c_str());
  std::fflush(stdout);
  std::fprintf(stderr,
               "created key %s for team '%s' (hash %s...). The secret above is shown once and "
               "not stored; keep it now.\n",
               created->info.id.c_str(), created->info.team.c_str(),
               created->info.hash_prefix.c_str());
  return {};
}

Status List(const Options& o) {
  auto store = OpenStore(o);
  if (!store) return Fail(store.error());
  auto keys = (*store)->List(o.all);
  if (!keys) return Fail(keys.error());
  std::string out = fmt::format(
      "{:<16} {:<14} {:<16} {:<13} {:<10} {:<16} {:>7} {:>9} {:<5} {:<8} {}\n", "ID", "TEAM",
      "NAME", "HASH", "CREATED", "BUDGET", "RPM", "TPM", "CLASS", "STATUS", "MODELS");
  for (const KeyInfo& k : *keys) {
    std::string models;
    for (const auto& m : k.models) models += (models.empty() ? "" : ",") + m;
    out +=
        fmt::format("{:<16} {:<14} {:<16} {:<13} {:<10} {:<16} {:>7} {:>9} {:<5} {:<8} {}\n", k.id,
                    k.team, k.name.empty() ? "-" : k.name, k.hash_prefix.substr(0, 8) + "...",
                    Date(k.created_unix), k.budget ? FormatBudget(*k.budget) : "-",
                    k.rpm ? std::to_string(k.rpm) : "-", k.tpm ? std::to_string(k.tpm) : "-",
                    fmt::format("{}-{}", k.min_data_class, k.max_data_class),
                    k.revoked ? "revoked" : "active", models.empty() ? "*" : models);
  }
  auto teams = (*store)->ListTeams();
  if (!teams) return Fail(teams.error());
  for (const TeamInfo& t : *teams) {
    if (t.budget) out += fmt::format("team {}: budget {}\n", t.team, FormatBudget(*t.budget));
  }
  std::fputs(out.c_str(), stdout);
  return {};
}

Status Revoke(const Options& o) {
  auto store = OpenStore(o);
  if (!store) return Fail(store.error());
  if (Status s = (*store)->Revoke(o.id); !s) return s;
  std::fprintf(stderr, "revoked %s\n", o.id.c_str());
  return {};
}

Status Team(const Options& o) {
  auto budget = BudgetOption(o.budget);
  if (!budget) return Fail(budget.error());
  auto store = OpenStore(o);
  if (!store) return Fail(store.error());
  if (Status s = (*store)->SetTeamBudget(o.spec.team, *budget); !s) return s;
  std::fprintf(stderr, "team '%s': budget %s\n", o.spec.team.c_str(),
               *budget ? FormatBudget(**budget).c_str() : "none");
  return {};
}

void AddStoreFlags(CLI::App& cmd, Options& o) {
  auto* db = cmd.add_option("--db", o.db, "Key store (SQLite file)");
  auto* cfg = cmd.add_option("--config,-c", o.config, "Gateway config; uses limits.keys_db");
  db->excludes(cfg);
}

}  // namespace

CLI::App* AddKeysCommand(CLI::App& root, int& exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* keys = root.add_subcommand("keys", "Virtual API keys, their limits and team budgets");
  keys->require_subcommand(1);

  CLI::App* create = keys->add_subcommand("create", "Create a key; prints the secret once");
  AddStoreFlags(*create, *o);
  create->add_option("--team", o->spec.team, "Team the key belongs to")->required();
  create->add_option("--name", o->spec.name, "Free-form label");
  create->add_option("--budget", o->budget, "Spend limit, e.g. 100usd/month or 5usd/day");
  create->add_option("--rpm", o->spec.rpm, "Requests per minute (0 = unlimited)")
      ->check(CLI::NonNegativeNumber);
  create->add_option("--tpm", o->spec.tpm, "Tokens per minute (0 = unlimited)")
      ->check(CLI::NonNegativeNumber);
  create->add_option("--models", o->models, "Comma-separated models the key may use (all)");
  create
      ->add_option("--max-data-class", o->spec.max_data_class,
                   "Refuse requests with data above this class (1..5)")
      ->check(CLI::Range(1, 5))
      ->capture_default_str();
  create
      ->add_option("--min-data-class", o->spec.min_data_class,
                   "Treat requests as at least this sensitive (1..5)")
      ->check(CLI::Range(1, 5))
      ->capture_default_str();
  create->callback(
      [o, &exit_code] { RunCommand("create", exit_code, [&] { return Create(*o); }); });

  CLI::App* list = keys->add_subcommand("list", "List keys (never their secrets)");
  AddStoreFlags(*list, *o);
  list->add_flag("--all", o->all, "Include revoked keys");
  list->callback([o, &exit_code] { RunCommand("list", exit_code, [&] { return List(*o); }); });

  CLI::App* revoke = keys->add_subcommand("revoke", "Revoke a key by id");
  AddStoreFlags(*revoke, *o);
  revoke->add_option("id", o->id, "Key id (key_...)")->required();
  revoke->callback(
      [o, &exit_code] { RunCommand("revoke", exit_code, [&] { return Revoke(*o); }); });

  CLI::App* team = keys->add_subcommand("team", "Set or clear a team's budget");
  AddStoreFlags(*team, *o);
  team->add_option("--team", o->spec.team, "Team")->required();
  team->add_option("--budget", o->budget, "e.g. 500usd/month, or none")->required();
  team->callback([o, &exit_code] { RunCommand("team", exit_code, [&] { return Team(*o); }); });
  return keys;
}

}  // namespace hybridgate::limits
